namespace IocpHybrid.Demo;

/// <summary>
/// Copies and creates files through a <see cref="CompletionPort"/>: <c>depth</c> lanes run at once, each
/// taking the next block, reading it and writing it, so up to <c>depth</c> reads and writes are in flight.
/// </summary>
internal sealed class FileCopier(CompletionPort port, int blockBytes, int depth, bool unbuffered)
{
    private long _bytesDone;

    /// <summary>Bytes copied (or created) so far; read by the progress bar.</summary>
    public long BytesDone => Interlocked.Read(ref _bytesDone);

    private PortFileOptions FileOptions => unbuffered ? PortFileOptions.Unbuffered : PortFileOptions.None;

    private Memory<byte> NewBuffer() =>
        unbuffered ? PortFile.AllocateAlignedBuffer(blockBytes) : new byte[blockBytes];

    /// <summary>Creates <paramref name="path"/> with <paramref name="length"/> random bytes.</summary>
    public async Task CreateRandomFileAsync(string path, long length)
    {
        Interlocked.Exchange(ref _bytesDone, 0);
        using var file = port.OpenFile(path, FileMode.Create, FileAccess.Write, FileOptions);
        using var tail = unbuffered ? port.OpenFile(path, FileMode.Open, FileAccess.Write) : null;
        long next = 0;

        async Task Lane()
        {
            Memory<byte> buffer = NewBuffer();
            while (true)
            {
                long offset = Interlocked.Add(ref next, blockBytes) - blockBytes;
                if (offset >= length)
                {
                    return;
                }

                int count = (int)Math.Min(blockBytes, length - offset);
                Random.Shared.NextBytes(buffer.Span[..count]);
                await WriteAllAsync(file, tail, buffer[..count], offset).ConfigureAwait(false);
                Interlocked.Add(ref _bytesDone, count);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, depth).Select(_ => Task.Run(Lane))).ConfigureAwait(false);
        await file.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/>; returns the bytes copied.</summary>
    public async Task<long> CopyAsync(string source, string destination)
    {
        Interlocked.Exchange(ref _bytesDone, 0);
        using var input = port.OpenFile(source, FileMode.Open, FileAccess.Read, FileOptions);
        using var output = port.OpenFile(destination, FileMode.Create, FileAccess.Write, FileOptions);
        // Unbuffered writes must be whole 4 KiB units: an unaligned tail goes through a buffered handle.
        using var tail = unbuffered ? port.OpenFile(destination, FileMode.Open, FileAccess.Write) : null;
        long length = input.Length;
        long next = 0;

        async Task Lane()
        {
            Memory<byte> buffer = NewBuffer();
            while (true)
            {
                long offset = Interlocked.Add(ref next, blockBytes) - blockBytes;
                if (offset >= length)
                {
                    return;
                }

                int wanted = (int)Math.Min(blockBytes, length - offset);
                int read = 0;
                while (read < wanted)
                {
                    int n = await input.ReadAsync(buffer[read..], offset + read).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new IOException($"{source} ended at {offset + read} while {length} bytes were expected (did it shrink?).");
                    }

                    read += n;
                    if (unbuffered && read % PortFile.UnbufferedAlignment != 0)
                    {
                        break; // the end of the file: a short, unaligned read
                    }
                }

                await WriteAllAsync(output, tail, buffer[..read], offset).ConfigureAwait(false);
                Interlocked.Add(ref _bytesDone, read);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, depth).Select(_ => Task.Run(Lane))).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        return length;
    }

    private async Task WriteAllAsync(PortFile file, PortFile? tail, ReadOnlyMemory<byte> data, long offset)
    {
        int written = 0;
        while (written < data.Length)
        {
            ReadOnlyMemory<byte> rest = data[written..];
            PortFile target = file;
            if (unbuffered)
            {
                int aligned = rest.Length / PortFile.UnbufferedAlignment * PortFile.UnbufferedAlignment;
                if (aligned == 0 || written % PortFile.UnbufferedAlignment != 0)
                {
                    target = tail!;
                }
                else
                {
                    rest = rest[..aligned];
                }
            }

            int n = await target.WriteAsync(rest, offset + written).ConfigureAwait(false);
            if (n <= 0)
            {
                throw new IOException($"A write of {rest.Length} bytes at {offset + written} wrote nothing.");
            }

            written += n;
        }
    }
}
