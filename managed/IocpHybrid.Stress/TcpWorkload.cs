using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Stress;

/// <summary>
/// TCP: an echo server (accepts, with random accept cancellations; echoes with random receive
/// cancellations) and client lanes that connect again and again. Each connection has one to four
/// senders sending length-prefixed, checksummed messages concurrently (each sender also keeps several
/// sends in flight): every message must come back whole, and each sender's messages exactly once and in
/// order. The client's receives are cancelled at random and some connections have a receive timeout of a
/// few milliseconds: neither may lose a byte. Connections end gracefully (half-close, everything echoed
/// must have come back), abruptly (closed under their in-flight operations) or after a cancelled send.
/// </summary>
internal sealed class TcpWorkload(StressContext ctx, int clientLanes)
{
    private const long Domain = 2;
    private const int HeaderSize = 16; // u32 length, u32 sender, u64 sequence
    private const int TrailerSize = 8; // u64 checksum of header and payload
    private const int MaxMessage = 32 * 1024;

    // Client ports of connections their client closed abruptly: the server may see a reset only on those.
    private readonly ConcurrentDictionary<int, bool> _abrupt = new();
    private readonly ConcurrentDictionary<Task, bool> _echoes = new();

    private enum Ending
    {
        Graceful,
        Abrupt,
        CancelledSend,
    }

    internal async Task RunAsync(CancellationToken stop)
    {
        using PortTcpListener listener = ctx.Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), backlog: 128);
        IPEndPoint endPoint = listener.LocalEndPoint;
        Task accept = ctx.Lane("tcp accept", () => AcceptLoopAsync(listener, stop));
        await Task.WhenAll(Enumerable.Range(0, clientLanes).Select(lane => ctx.Lane($"tcp client {lane}", () => ClientLaneAsync(lane, endPoint, stop)))).ConfigureAwait(false);
        listener.Dispose();
        await accept.ConfigureAwait(false);
        await Task.WhenAll(_echoes.Keys).ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync(PortTcpListener listener, CancellationToken stop)
    {
        Random random = ctx.RandomFor(Domain, -1);
        while (true)
        {
            using Chaos chaos = Chaos.Maybe(random, stop.IsCancellationRequested ? 0 : 0.05);
            PortTcpConnection connection;
            try
            {
                connection = await ctx.Ledger.Track(OpKind.TcpAccept, () =>
                {
                    ValueTask<PortTcpConnection> accept = listener.AcceptAsync(chaos.Token);
                    chaos.AfterStart();
                    return accept;
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (chaos.Cancelled)
            {
                continue;
            }
            catch (ObjectDisposedException) when (listener.IsClosed)
            {
                return;
            }

            int seed = random.Next();
            Task echo = ctx.Lane("tcp echo", () => EchoAsync(connection, new Random(seed)));
            _echoes.TryAdd(echo, true);
            _ = echo.ContinueWith(t => _echoes.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task EchoAsync(PortTcpConnection connection, Random random)
    {
        using (connection)
        {
            int peer;
            try
            {
                peer = connection.RemoteEndPoint.Port;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.NotConnected)
            {
                // Reset before we asked: only a client that closed abruptly does that.
                return;
            }

            byte[] buffer = ArrayPool<byte>.Shared.Rent(random.Next(1, 64 * 1024));
            try
            {
                while (true)
                {
                    int n;
                    using (Chaos chaos = Chaos.Maybe(random, 0.05))
                    {
                        try
                        {
                            n = await ctx.Ledger.Track(OpKind.TcpReceive, () =>
                            {
                                ValueTask<int> receive = connection.ReceiveAsync(buffer.AsMemory(), chaos.Token);
                                chaos.AfterStart();
                                return receive;
                            }).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (chaos.Cancelled)
                        {
                            continue;
                        }
                        catch (SocketException ex) when (PeerGone(ex) && _abrupt.ContainsKey(peer))
                        {
                            return;
                        }
                    }

                    if (n == 0)
                    {
                        try
                        {
                            connection.Shutdown(SocketShutdown.Send);
                        }
                        catch (SocketException ex) when (PeerGone(ex) && _abrupt.ContainsKey(peer))
                        {
                        }

                        return;
                    }

                    try
                    {
                        int sent = await ctx.Ledger.Track(OpKind.TcpSend, () => connection.SendAsync(buffer.AsMemory(0, n), CancellationToken.None)).ConfigureAwait(false);
                        if (sent != n)
                        {
                            ctx.Ledger.Fail($"tcp echo: a send of {n} bytes returned {sent}");
                            return;
                        }
                    }
                    catch (SocketException ex) when (PeerGone(ex) && _abrupt.ContainsKey(peer))
                    {
                        return;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _abrupt.TryRemove(peer, out _);
            }
        }
    }

    private static bool PeerGone(SocketException ex) =>
        ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NotConnected;

    private async Task ClientLaneAsync(int lane, IPEndPoint server, CancellationToken stop)
    {
        for (long round = 0; !stop.IsCancellationRequested; round++)
        {
            await ConnectionRoundAsync(lane, round, server, ctx.RandomFor(Domain, lane, round)).ConfigureAwait(false);
        }
    }

    /// <summary>One connection from connect to close.</summary>
    private async Task ConnectionRoundAsync(int lane, long round, IPEndPoint server, Random random)
    {
        PortTcpConnection connection;
        using (Chaos chaos = Chaos.Maybe(random, 0.03))
        {
            try
            {
                bool withTimeout = random.Next(2) == 0;
                connection = await ctx.Ledger.Track(OpKind.TcpConnect, () =>
                {
                    ValueTask<PortTcpConnection> connect = withTimeout
                        ? PortTcpConnection.ConnectAsync(ctx.Port, server, TimeSpan.FromSeconds(30), chaos.Token)
                        : ctx.Port.ConnectTcpAsync(server, chaos.Token);
                    chaos.AfterStart();
                    return connect;
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (chaos.Cancelled)
            {
                return;
            }
        }

        int roll = random.Next(100);
        Ending ending = roll < 75 ? Ending.Graceful : roll < 90 ? Ending.Abrupt : Ending.CancelledSend;
        var conversation = new Conversation(ctx, connection, ending == Ending.CancelledSend ? 1 : random.Next(1, 5), Pattern.Key(ctx.Seed, Domain, lane, round));
        if (random.Next(3) == 0)
        {
            connection.ReceiveTimeout = random.Next(1, 20);
        }

        using (connection)
        {
            int port = connection.LocalEndPoint.Port;
            Task receiver = Task.Run(() => conversation.ReceiveAsync(new Random(random.Next())));
            var senders = new List<Task>();
            for (int s = 0; s < conversation.Senders; s++)
            {
                int messages = random.Next(1, 200);
                int depth = random.Next(1, 5);
                double cancel = ending == Ending.CancelledSend ? 0.05 : 0;
                int sender = s;
                int senderSeed = random.Next();
                senders.Add(Task.Run(() => conversation.SendAsync(sender, messages, depth, cancel, new Random(senderSeed), () => CloseAbruptly(connection, port))));
            }

            if (ending == Ending.Abrupt)
            {
                await Task.Delay(random.Next(0, 30)).ConfigureAwait(false);
                CloseAbruptly(connection, port);
            }

            await Task.WhenAll(senders).ConfigureAwait(false);
            if (!connection.IsClosed)
            {
                connection.Shutdown(SocketShutdown.Send);
            }

            await receiver.ConfigureAwait(false);
            conversation.CheckComplete();
        }
    }

    private void CloseAbruptly(PortTcpConnection connection, int localPort)
    {
        _abrupt[localPort] = true;
        connection.Dispose();
    }

    /// <summary>The two directions of one client connection and what each sender sent.</summary>
    private sealed class Conversation(StressContext ctx, PortTcpConnection connection, int senders, ulong key)
    {
        private readonly long[] _sent = new long[senders];
        private readonly long[] _received = new long[senders];
        private bool _endOfStream;

        internal int Senders => senders;

        private ulong PayloadKey(int sender, long sequence) => Pattern.Key((long)key, sender, sequence);

        /// <summary>
        /// Sends <paramref name="messages"/> messages with up to <paramref name="depth"/> in flight; a
        /// cancelled send ends the connection (<paramref name="abort"/>).
        /// </summary>
        internal async Task SendAsync(int sender, int messages, int depth, double cancelProbability, Random random, Action abort)
        {
            var inFlight = new Queue<(Task<bool> Send, byte[] Buffer)>();
            try
            {
                for (long sequence = 0; sequence < messages && !connection.IsClosed; sequence++)
                {
                    int length = HeaderSize + TrailerSize + (random.Next(4) == 0 ? random.Next(MaxMessage - HeaderSize - TrailerSize) : random.Next(256));
                    byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
                    Build(buffer.AsSpan(0, length), sender, sequence);
                    inFlight.Enqueue((SendOneAsync(buffer.AsMemory(0, length), Chaos.Maybe(random, cancelProbability), abort), buffer));
                    while (inFlight.Count >= depth)
                    {
                        await Retire(inFlight.Dequeue(), sender).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                while (inFlight.Count > 0)
                {
                    await Retire(inFlight.Dequeue(), sender).ConfigureAwait(false);
                }
            }
        }

        private async Task Retire((Task<bool> Send, byte[] Buffer) entry, int sender)
        {
            bool ok = await entry.Send.ConfigureAwait(false);
            ArrayPool<byte>.Shared.Return(entry.Buffer);
            if (ok)
            {
                Interlocked.Increment(ref _sent[sender]);
            }
        }

        private async Task<bool> SendOneAsync(ReadOnlyMemory<byte> message, Chaos chaos, Action abort)
        {
            using (chaos)
            {
                try
                {
                    int sent = await ctx.Ledger.Track(OpKind.TcpSend, () =>
                    {
                        ValueTask<int> send = connection.SendAsync(message, chaos.Token);
                        chaos.AfterStart();
                        return send;
                    }).ConfigureAwait(false);
                    if (sent != message.Length)
                    {
                        ctx.Ledger.Fail($"tcp: a send of {message.Length} bytes returned {sent}");
                    }

                    return true;
                }
                catch (OperationCanceledException) when (chaos.Cancelled)
                {
                    // Part of the message may have gone: the stream is unusable from here.
                    abort();
                    return false;
                }
                catch (ObjectDisposedException) when (connection.IsClosed)
                {
                    return false;
                }
            }
        }

        private void Build(Span<byte> message, int sender, long sequence)
        {
            BinaryPrimitives.WriteInt32LittleEndian(message, message.Length);
            BinaryPrimitives.WriteInt32LittleEndian(message[4..], sender);
            BinaryPrimitives.WriteInt64LittleEndian(message[8..], sequence);
            Span<byte> payload = message[HeaderSize..^TrailerSize];
            Pattern.Fill(PayloadKey(sender, sequence), 0, payload);
            BinaryPrimitives.WriteUInt64LittleEndian(message[^TrailerSize..], Pattern.Checksum(message[..^TrailerSize]));
        }

        /// <summary>Receives the echo and checks it message by message until the end of the stream or the close.</summary>
        internal async Task ReceiveAsync(Random random)
        {
            byte[] pending = new byte[2 * MaxMessage];
            int have = 0;
            byte[] chunk = ArrayPool<byte>.Shared.Rent(MaxMessage);
            try
            {
                while (true)
                {
                    int size = random.Next(3) == 0 ? random.Next(1, 32) : random.Next(1, MaxMessage);
                    int n;
                    using (Chaos chaos = Chaos.Maybe(random, 0.1))
                    {
                        try
                        {
                            n = await ctx.Ledger.Track(OpKind.TcpReceive, () =>
                            {
                                ValueTask<int> receive = connection.ReceiveAsync(chunk.AsMemory(0, size), chaos.Token);
                                chaos.AfterStart();
                                return receive;
                            }).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (chaos.Cancelled)
                        {
                            continue;
                        }
                        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut && connection.ReceiveTimeout > 0)
                        {
                            continue;
                        }
                        catch (ObjectDisposedException) when (connection.IsClosed)
                        {
                            return;
                        }
                    }

                    if (n == 0)
                    {
                        _endOfStream = true;
                        if (have != 0)
                        {
                            ctx.Ledger.Fail($"tcp: the stream ended {have} bytes into a message");
                        }

                        return;
                    }

                    chunk.AsSpan(0, n).CopyTo(pending.AsSpan(have));
                    have += n;
                    int used = Parse(pending.AsSpan(0, have));
                    if (used < 0)
                    {
                        return;
                    }

                    pending.AsSpan(used, have - used).CopyTo(pending);
                    have -= used;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }

        /// <summary>Checks every whole message in <paramref name="data"/>; returns the bytes used, -1 after a failure.</summary>
        private int Parse(ReadOnlySpan<byte> data)
        {
            int used = 0;
            while (data.Length - used >= HeaderSize)
            {
                ReadOnlySpan<byte> rest = data[used..];
                int length = BinaryPrimitives.ReadInt32LittleEndian(rest);
                int sender = BinaryPrimitives.ReadInt32LittleEndian(rest[4..]);
                long sequence = BinaryPrimitives.ReadInt64LittleEndian(rest[8..]);
                if (length < HeaderSize + TrailerSize || length > MaxMessage || (uint)sender >= (uint)senders)
                {
                    ctx.Ledger.Fail($"tcp: a message header is garbage (length {length}, sender {sender}, sequence {sequence})");
                    return -1;
                }

                if (rest.Length < length)
                {
                    break;
                }

                ReadOnlySpan<byte> message = rest[..length];
                ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(message[^TrailerSize..]);
                long expected = _received[sender];
                if (Pattern.Checksum(message[..^TrailerSize]) != checksum || Pattern.FirstMismatch(PayloadKey(sender, sequence), 0, message[HeaderSize..^TrailerSize]) >= 0)
                {
                    ctx.Ledger.Fail($"tcp: sender {sender}'s message {sequence} ({length} bytes) came back corrupted");
                    return -1;
                }

                if (sequence != expected)
                {
                    ctx.Ledger.Fail($"tcp: sender {sender}'s message {sequence} came back where {expected} was due ({(sequence < expected ? "duplicate" : "lost or reordered")})");
                    return -1;
                }

                _received[sender] = expected + 1;
                ctx.Ledger.Verified(length);
                used += length;
            }

            return used;
        }

        /// <summary>After a graceful end: every message sent came back.</summary>
        internal void CheckComplete()
        {
            if (!_endOfStream)
            {
                return;
            }

            for (int s = 0; s < senders; s++)
            {
                if (_received[s] != Volatile.Read(ref _sent[s]))
                {
                    ctx.Ledger.Fail($"tcp: sender {s} sent {_sent[s]} messages, {_received[s]} came back before the end of the stream");
                }
            }
        }
    }
}
