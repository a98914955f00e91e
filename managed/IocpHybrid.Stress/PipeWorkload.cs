using System.Buffers;
using System.Runtime.CompilerServices;

namespace IocpHybrid.Stress;

/// <summary>
/// Pipes: per lane, a pipe after another; a writer writes a deterministic stream in chunks of random
/// length, some of its writes cancelled (a cancelled write reports how much went through, or
/// <see cref="OperationCanceledException"/> when nothing did, so the stream stays exact), and a reader
/// reads it in random sizes with random cancellations, checking every byte. Most pipes end with the
/// writer closing (the reader must then have read exactly what was written); some with the reader
/// closing under the writer (a broken pipe).
/// </summary>
internal sealed class PipeWorkload(StressContext ctx, int lanes)
{
    private const long Domain = 3;
    private const int MaxChunk = 64 * 1024;

    internal Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, lanes).Select(lane => ctx.Lane($"pipe {lane}", () => LaneAsync(lane, stop))));

    private async Task LaneAsync(int lane, CancellationToken stop)
    {
        for (long round = 0; !stop.IsCancellationRequested; round++)
        {
            Random random = ctx.RandomFor(Domain, lane, round);
            ulong key = Pattern.Key(ctx.Seed, Domain, lane, round);
            using PortPipe pipe = ctx.Port.CreatePipe();
            var readerClosed = new StrongBox<bool>();
            long total = random.Next(1, 4 * 1024 * 1024);
            bool readerCloses = random.Next(10) == 0;
            int writerSeed = random.Next();
            int readerSeed = random.Next();
            Task<long> writer = Task.Run(() => WriteAsync(pipe.Writer, readerClosed, key, total, new Random(writerSeed)));
            Task<long> reader = Task.Run(() => ReadAsync(pipe.Reader, readerClosed, key, readerCloses ? random.NextInt64(total) : long.MaxValue, new Random(readerSeed)));
            long written = await writer.ConfigureAwait(false);
            pipe.Writer.Dispose();
            long read = await reader.ConfigureAwait(false);
            if (!readerCloses && read != written)
            {
                ctx.Ledger.Fail($"pipe {lane}/{round}: {written} bytes written, {read} read before the end of the stream");
            }
        }
    }

    /// <summary>Writes up to <paramref name="total"/> bytes of the stream; returns how many went in.</summary>
    private async Task<long> WriteAsync(PortPipeWriter writer, StrongBox<bool> readerClosed, ulong key, long total, Random random)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxChunk);
        long position = 0;
        try
        {
            while (position < total)
            {
                int length = (int)Math.Min(total - position, random.Next(1, MaxChunk + 1));
                Pattern.Fill(key, position, buffer.AsSpan(0, length));
                using Chaos chaos = Chaos.Maybe(random, 0.05);
                try
                {
                    int n = await ctx.Ledger.Track(OpKind.PipeWrite, () =>
                    {
                        ValueTask<int> write = writer.WriteAsync(buffer.AsMemory(0, length), chaos.Token);
                        chaos.AfterStart();
                        return write;
                    }).ConfigureAwait(false);
                    if (n != length && !chaos.Cancelled && !Volatile.Read(ref readerClosed.Value))
                    {
                        ctx.Ledger.Fail($"pipe: a write of {length} bytes returned {n} without a cancellation");
                    }

                    position += n;
                }
                catch (OperationCanceledException) when (chaos.Cancelled)
                {
                }
                catch (IOException) when (Volatile.Read(ref readerClosed.Value))
                {
                    break; // broken pipe: the reader closed on purpose
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return position;
    }

    /// <summary>Reads and checks until the end of the stream, or closes the reader after <paramref name="closeAfter"/> bytes.</summary>
    private async Task<long> ReadAsync(PortPipeReader reader, StrongBox<bool> readerClosed, ulong key, long closeAfter, Random random)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxChunk);
        long position = 0;
        try
        {
            while (true)
            {
                if (position >= closeAfter)
                {
                    Volatile.Write(ref readerClosed.Value, true);
                    reader.Dispose();
                    return position;
                }

                int size = random.Next(4) == 0 ? random.Next(1, 16) : random.Next(1, MaxChunk + 1);
                int n;
                using (Chaos chaos = Chaos.Maybe(random, 0.1))
                {
                    try
                    {
                        n = await ctx.Ledger.Track(OpKind.PipeRead, () =>
                        {
                            ValueTask<int> read = reader.ReadAsync(buffer.AsMemory(0, size), chaos.Token);
                            chaos.AfterStart();
                            return read;
                        }).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (chaos.Cancelled)
                    {
                        continue;
                    }
                }

                if (n == 0)
                {
                    return position;
                }

                int bad = Pattern.FirstMismatch(key, position, buffer.AsSpan(0, n));
                if (bad >= 0)
                {
                    ctx.Ledger.Fail($"pipe: byte {position + bad} of the stream differs (read of {n} bytes at {position})");
                    Volatile.Write(ref readerClosed.Value, true);
                    reader.Dispose();
                    return long.MinValue;
                }

                ctx.Ledger.Verified(n);
                position += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
