using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Stress;

/// <summary>
/// UDP on loopback: per lane, rounds of a sender and a receiver socket. The sender sends numbered,
/// checksummed datagrams of random sizes with at most <see cref="Window"/> of them not yet received
/// (so the receiver's socket buffer never overflows and the kernel has no reason to drop one); the
/// receiver keeps one to four receives in flight, cancels some and gives some a timeout of a few
/// milliseconds. Every datagram must arrive whole, once, and (but for those whose send was cancelled,
/// which may or may not have gone) every datagram sent must arrive.
/// </summary>
internal sealed class UdpWorkload(StressContext ctx, int lanes)
{
    private const long Domain = 4;
    private const int HeaderSize = 24; // u32 length, u32 lane, u64 round, u64 sequence
    private const int TrailerSize = 8;
    private const int MaxDatagram = 1400;

    // 32 datagrams of at most 1400 bytes stay far below the default receive buffer (208 KiB on Linux,
    // counting each datagram's kernel overhead too): a loss is then the library's, not the kernel's.
    private const int Window = 32;

    // How long the sender waits for the window to move before it calls the missing datagrams lost.
    private static readonly TimeSpan LossTimeout = TimeSpan.FromSeconds(20);

    internal Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, lanes).Select(lane => ctx.Lane($"udp {lane}", () => LaneAsync(lane, stop))));

    private async Task LaneAsync(int lane, CancellationToken stop)
    {
        for (long round = 0; !stop.IsCancellationRequested; round++)
        {
            Random random = ctx.RandomFor(Domain, lane, round);
            using PortUdpSocket receiver = ctx.Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
            using PortUdpSocket sender = ctx.Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
            if (random.Next(3) == 0)
            {
                receiver.ReceiveTimeout = random.Next(1, 20);
            }

            var state = new RoundState(lane, round, random.Next(1, 2000));
            var receives = new List<Task>();
            int concurrency = random.Next(1, 5);
            for (int i = 0; i < concurrency; i++)
            {
                int seed = random.Next();
                bool withAddress = random.Next(2) == 0;
                receives.Add(Task.Run(() => ReceiveLoopAsync(receiver, state, withAddress, new Random(seed))));
            }

            await SendAllAsync(sender, receiver.LocalEndPoint, state, random).ConfigureAwait(false);

            // Everything sent has arrived (or is declared lost): close the receiver under its pending receives.
            receiver.Dispose();
            await Task.WhenAll(receives).ConfigureAwait(false);
            state.CheckComplete(ctx.Ledger);
        }
    }

    private sealed class RoundState(int lane, long round, int count)
    {
        internal readonly int Lane = lane;
        internal readonly long Round = round;
        internal readonly int Count = count;
        internal readonly SemaphoreSlim Window = new(UdpWorkload.Window, UdpWorkload.Window);

        // 0 not sent, 1 sent, 2 send cancelled (may or may not have gone), 3 received.
        internal readonly int[] State = new int[count];

        internal void CheckComplete(Ledger ledger)
        {
            int lost = 0;
            for (int i = 0; i < Count; i++)
            {
                if (State[i] == 1)
                {
                    lost++;
                }
            }

            if (lost > 0)
            {
                ledger.Fail($"udp {Lane}/{Round}: {lost} of {Count} datagrams sent never arrived");
            }
        }
    }

    private async Task SendAllAsync(PortUdpSocket sender, IPEndPoint target, RoundState state, Random random)
    {
        byte[] datagram = new byte[MaxDatagram];
        SocketAddress? address = random.Next(2) == 0 ? target.Serialize() : null;
        for (int sequence = 0; sequence < state.Count; sequence++)
        {
            if (!await state.Window.WaitAsync(LossTimeout).ConfigureAwait(false))
            {
                ctx.Ledger.Fail($"udp {state.Lane}/{state.Round}: no datagram arrived for {LossTimeout.TotalSeconds} s (lost)");
                return;
            }

            int length = random.Next(HeaderSize + TrailerSize, MaxDatagram + 1);
            Build(datagram.AsSpan(0, length), state, sequence);
            Volatile.Write(ref state.State[sequence], 1);
            using Chaos chaos = Chaos.Maybe(random, 0.02);
            try
            {
                int sent = await ctx.Ledger.Track(OpKind.UdpSend, () =>
                {
                    ValueTask<int> send = address is null
                        ? sender.SendToAsync(datagram.AsMemory(0, length), target, chaos.Token)
                        : sender.SendToAsync(datagram.AsMemory(0, length), address, chaos.Token);
                    chaos.AfterStart();
                    return send;
                }).ConfigureAwait(false);
                if (sent != length)
                {
                    ctx.Ledger.Fail($"udp: a send of {length} bytes returned {sent}");
                }
            }
            catch (OperationCanceledException) when (chaos.Cancelled)
            {
                // It may have gone out: if it arrives it is counted, if not nobody waits for it.
                if (Interlocked.CompareExchange(ref state.State[sequence], 2, 1) == 1)
                {
                    state.Window.Release();
                }
            }
        }

        // The rest of the window: wait for every datagram sent to arrive.
        for (int i = 0; i < Window; i++)
        {
            if (!await state.Window.WaitAsync(LossTimeout).ConfigureAwait(false))
            {
                ctx.Ledger.Fail($"udp {state.Lane}/{state.Round}: datagrams sent did not arrive within {LossTimeout.TotalSeconds} s");
                return;
            }
        }
    }

    private ulong Key(RoundState state, int sequence) => Pattern.Key(ctx.Seed, Domain, state.Lane, state.Round, sequence);

    private void Build(Span<byte> datagram, RoundState state, int sequence)
    {
        BinaryPrimitives.WriteInt32LittleEndian(datagram, datagram.Length);
        BinaryPrimitives.WriteInt32LittleEndian(datagram[4..], state.Lane);
        BinaryPrimitives.WriteInt64LittleEndian(datagram[8..], state.Round);
        BinaryPrimitives.WriteInt64LittleEndian(datagram[16..], sequence);
        Pattern.Fill(Key(state, sequence), 0, datagram[HeaderSize..^TrailerSize]);
        BinaryPrimitives.WriteUInt64LittleEndian(datagram[^TrailerSize..], Pattern.Checksum(datagram[..^TrailerSize]));
    }

    private async Task ReceiveLoopAsync(PortUdpSocket receiver, RoundState state, bool withAddress, Random random)
    {
        byte[] buffer = new byte[MaxDatagram + 64];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (true)
        {
            int n;
            using (Chaos chaos = Chaos.Maybe(random, 0.1))
            {
                try
                {
                    if (withAddress)
                    {
                        PortReceiveResult result = await ctx.Ledger.Track(OpKind.UdpReceive, () =>
                        {
                            ValueTask<PortReceiveResult> receive = receiver.ReceiveFromAsync(buffer, from, chaos.Token);
                            chaos.AfterStart();
                            return receive;
                        }).ConfigureAwait(false);
                        n = result.Truncated ? -1 : result.ReceivedBytes;
                    }
                    else
                    {
                        PortReceiveFromResult result = await ctx.Ledger.Track(OpKind.UdpReceive, () =>
                        {
                            ValueTask<PortReceiveFromResult> receive = receiver.ReceiveFromAsync(buffer, chaos.Token);
                            chaos.AfterStart();
                            return receive;
                        }).ConfigureAwait(false);
                        n = result.Truncated ? -1 : result.ReceivedBytes;
                    }
                }
                catch (OperationCanceledException) when (chaos.Cancelled)
                {
                    continue;
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut && receiver.ReceiveTimeout > 0)
                {
                    continue;
                }
                catch (ObjectDisposedException) when (receiver.IsClosed)
                {
                    return;
                }
            }

            Check(buffer.AsSpan(0, Math.Max(n, 0)), n < 0, state);
        }
    }

    private void Check(ReadOnlySpan<byte> datagram, bool truncated, RoundState state)
    {
        if (truncated || datagram.Length < HeaderSize + TrailerSize || BinaryPrimitives.ReadInt32LittleEndian(datagram) != datagram.Length)
        {
            ctx.Ledger.Fail($"udp {state.Lane}/{state.Round}: a datagram of {datagram.Length} bytes is not whole (truncated: {truncated})");
            return;
        }

        int lane = BinaryPrimitives.ReadInt32LittleEndian(datagram[4..]);
        long round = BinaryPrimitives.ReadInt64LittleEndian(datagram[8..]);
        long sequence = BinaryPrimitives.ReadInt64LittleEndian(datagram[16..]);
        if (lane != state.Lane || round != state.Round || sequence < 0 || sequence >= state.Count)
        {
            ctx.Ledger.Fail($"udp {state.Lane}/{state.Round}: a datagram of lane {lane} round {round} sequence {sequence} arrived here");
            return;
        }

        if (Pattern.Checksum(datagram[..^TrailerSize]) != BinaryPrimitives.ReadUInt64LittleEndian(datagram[^TrailerSize..])
            || Pattern.FirstMismatch(Key(state, (int)sequence), 0, datagram[HeaderSize..^TrailerSize]) >= 0)
        {
            ctx.Ledger.Fail($"udp {state.Lane}/{state.Round}: datagram {sequence} is corrupted");
            return;
        }

        int previous = Interlocked.Exchange(ref state.State[sequence], 3);
        switch (previous)
        {
            case 1:
                state.Window.Release();
                break;
            case 2:
                break; // its send was cancelled (its window slot already given back) but it went out
            case 3:
                ctx.Ledger.Fail($"udp {state.Lane}/{state.Round}: datagram {sequence} arrived twice");
                return;
            default:
                ctx.Ledger.Fail($"udp {state.Lane}/{state.Round}: datagram {sequence} arrived before it was sent");
                return;
        }

        ctx.Ledger.Verified(datagram.Length);
    }
}
