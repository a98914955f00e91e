using System.Buffers;

namespace IocpHybrid.Stress;

/// <summary>
/// Files: each file is made of blocks; lanes write whole blocks (in one to three pieces at once, at
/// their offsets) with the content of a new generation, and read random ranges of blocks whose
/// generation is known, checking every byte against (seed, file, block, generation, offset). A write
/// that was cancelled or cut off by a close leaves its block unknown until the next full write. Another
/// lane swaps the file's handle for a fresh one now and then, closing the old one under the others'
/// feet. At the end every known block is read back whole: a lost or misplaced write shows there.
/// </summary>
internal sealed class FileWorkload(StressContext ctx, int files, int lanesPerFile)
{
    private const int BlockSize = 16 * 1024;
    private const int Blocks = 64;
    private const long Domain = 1;

    internal Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, files).Select(f => ctx.Lane($"file {f}", () => RunFileAsync(f, stop))));

    private sealed class FileState(int index, string path, PortFile file)
    {
        internal readonly int Index = index;
        internal readonly string PathName = path;
        internal readonly long[] Generation = new long[Blocks];
        internal readonly long[] NextGeneration = new long[Blocks];
        internal readonly SemaphoreSlim[] Locks = Enumerable.Range(0, Blocks).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
        internal PortFile Current = file;
    }

    private async Task RunFileAsync(int index, CancellationToken stop)
    {
        string path = Path.Combine(ctx.Scratch, $"file{index}.bin");
        var state = new FileState(index, path, ctx.Port.OpenFile(path, FileMode.Create, FileAccess.ReadWrite));
        try
        {
            Random random = ctx.RandomFor(Domain, index, -1);
            for (int b = 0; b < Blocks; b++)
            {
                await WriteBlockAsync(state, b, random, cancelProbability: 0).ConfigureAwait(false);
                if (state.Generation[b] < 0)
                {
                    ctx.Ledger.Fail($"file {index}: the first write of block {b} failed");
                }
            }

            var lanes = new List<Task>();
            for (int lane = 0; lane < lanesPerFile; lane++)
            {
                Random r = ctx.RandomFor(Domain, index, lane);
                lanes.Add(Task.Run(() => OperateAsync(state, r, stop)));
            }

            lanes.Add(Task.Run(() => SwapHandlesAsync(state, ctx.RandomFor(Domain, index, -2), stop)));
            await Task.WhenAll(lanes).ConfigureAwait(false);
            await AuditAsync(state).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Read(ref state.Current).Dispose();
        }
    }

    private async Task OperateAsync(FileState state, Random random, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            int block = random.Next(Blocks);
            int choice = random.Next(100);
            if (choice < 40 || state.Generation[block] < 0)
            {
                await WriteBlockAsync(state, block, random, cancelProbability: 0.1).ConfigureAwait(false);
            }
            else if (choice < 97)
            {
                int start = random.Next(BlockSize);
                int length = random.Next(1, BlockSize - start + 1);
                await ReadRangeAsync(state, block, start, length, random, cancelProbability: 0.1).ConfigureAwait(false);
            }
            else
            {
                await FlushAsync(state, random).ConfigureAwait(false);
            }
        }
    }

    private ulong BlockKey(FileState state, int block, long generation) => Pattern.Key(ctx.Seed, Domain, state.Index, block, generation);

    private async Task WriteBlockAsync(FileState state, int block, Random random, double cancelProbability)
    {
        await state.Locks[block].WaitAsync().ConfigureAwait(false);
        byte[] data = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            long generation = ++state.NextGeneration[block];
            Pattern.Fill(BlockKey(state, block, generation), 0, data.AsSpan(0, BlockSize));
            PortFile file = Volatile.Read(ref state.Current);
            int pieces = random.Next(1, 4);
            var cuts = new List<int> { 0, BlockSize };
            for (int i = 1; i < pieces; i++)
            {
                cuts.Add(random.Next(1, BlockSize));
            }

            cuts.Sort();
            var writes = new List<Task<bool>>();
            for (int i = 0; i + 1 < cuts.Count; i++)
            {
                if (cuts[i + 1] > cuts[i])
                {
                    writes.Add(WritePieceAsync(file, data.AsMemory(cuts[i], cuts[i + 1] - cuts[i]), ((long)block * BlockSize) + cuts[i], Chaos.Maybe(random, cancelProbability)));
                }
            }

            bool[] done = await Task.WhenAll(writes).ConfigureAwait(false);
            state.Generation[block] = done.All(d => d) ? generation : -1;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
            state.Locks[block].Release();
        }
    }

    private async Task<bool> WritePieceAsync(PortFile file, ReadOnlyMemory<byte> piece, long offset, Chaos chaos)
    {
        using (chaos)
        {
            try
            {
                int written = await ctx.Ledger.Track(OpKind.FileWrite, () =>
                {
                    ValueTask<int> write = file.WriteAsync(piece, offset, chaos.Token);
                    chaos.AfterStart();
                    return write;
                }).ConfigureAwait(false);
                if (written != piece.Length)
                {
                    ctx.Ledger.Fail($"{file.Path}: a write of {piece.Length} bytes at {offset} returned {written}");
                    return false;
                }

                return true;
            }
            catch (OperationCanceledException) when (chaos.Cancelled)
            {
                return false;
            }
            catch (ObjectDisposedException) when (file.IsClosed)
            {
                return false;
            }
        }
    }

    private async Task ReadRangeAsync(FileState state, int block, int start, int length, Random random, double cancelProbability)
    {
        await state.Locks[block].WaitAsync().ConfigureAwait(false);
        byte[] data = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            long generation = state.Generation[block];
            if (generation < 0)
            {
                return;
            }

            PortFile file = Volatile.Read(ref state.Current);
            long offset = ((long)block * BlockSize) + start;
            int total = 0;
            while (total < length)
            {
                using Chaos chaos = Chaos.Maybe(random, cancelProbability);
                int n;
                try
                {
                    n = await ctx.Ledger.Track(OpKind.FileRead, () =>
                    {
                        ValueTask<int> read = file.ReadAsync(data.AsMemory(total, length - total), offset + total, chaos.Token);
                        chaos.AfterStart();
                        return read;
                    }).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (chaos.Cancelled)
                {
                    break;
                }
                catch (ObjectDisposedException) when (file.IsClosed)
                {
                    break;
                }

                if (n == 0)
                {
                    ctx.Ledger.Fail($"{state.PathName}: a read at {offset + total} returned 0 inside the file");
                    break;
                }

                total += n;
            }

            Check(state, block, generation, start, data.AsSpan(0, total));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
            state.Locks[block].Release();
        }
    }

    private void Check(FileState state, int block, long generation, int start, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        int bad = Pattern.FirstMismatch(BlockKey(state, block, generation), start, data);
        if (bad >= 0)
        {
            ctx.Ledger.Fail($"{state.PathName}: block {block} generation {generation}: byte {start + bad} of the block differs (read of {data.Length} bytes at block offset {start})");
        }
        else
        {
            ctx.Ledger.Verified(data.Length);
        }
    }

    private async Task FlushAsync(FileState state, Random random)
    {
        PortFile file = Volatile.Read(ref state.Current);
        using Chaos chaos = Chaos.Maybe(random, 0.2);
        try
        {
            await ctx.Ledger.Track(OpKind.FileFlush, () =>
            {
                ValueTask flush = file.FlushAsync(chaos.Token);
                chaos.AfterStart();
                return flush;
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (chaos.Cancelled)
        {
        }
        catch (ObjectDisposedException) when (file.IsClosed)
        {
        }
    }

    /// <summary>Opens the file again and closes the old handle while the other lanes may be using it.</summary>
    private async Task SwapHandlesAsync(FileState state, Random random, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(random.Next(20, 400), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            PortFile fresh = ctx.Port.OpenFile(state.PathName, FileMode.Open, FileAccess.ReadWrite);
            Interlocked.Exchange(ref state.Current, fresh).Dispose();
        }
    }

    /// <summary>Reads every block whose generation is known back whole, with no cancellation.</summary>
    private async Task AuditAsync(FileState state)
    {
        var random = new Random(0);
        for (int b = 0; b < Blocks; b++)
        {
            await ReadRangeAsync(state, b, 0, BlockSize, random, cancelProbability: 0).ConfigureAwait(false);
        }
    }
}
