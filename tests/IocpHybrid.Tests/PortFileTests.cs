namespace IocpHybrid.Tests;

public sealed class PortFileTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly CompletionPort _port = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _port.DisposeAsync().Within();
        _dir.Dispose();
    }

    [Fact]
    public async Task HundredsOfWritesAndReadsInFlightRoundTripByteForByte()
    {
        const int blocks = 512;
        const int blockSize = 8192;
        byte[] expected = TestSupport.RandomBytes(blocks * blockSize, seed: 1);
        string path = _dir.File("roundtrip.bin");
        using (var file = _port.OpenFile(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            // Every write is started before any is awaited, in shuffled order.
            int[] order = Enumerable.Range(0, blocks).ToArray();
            new Random(2).Shuffle(order);
            var writes = new Task<int>[blocks];
            for (int i = 0; i < blocks; i++)
            {
                int block = order[i];
                writes[i] = file.WriteAsync(expected.AsMemory(block * blockSize, blockSize), (long)block * blockSize).AsTask();
            }

            int[] written = await Task.WhenAll(writes).Within();
            Assert.All(written, n => Assert.Equal(blockSize, n));
            Assert.Equal(expected.Length, file.Length);

            // Reads of random lengths at random (unaligned) offsets, all in flight at once.
            const int reads = 600;
            var random = new Random(3);
            var offsets = new long[reads];
            var buffers = new byte[reads][];
            var pending = new Task<int>[reads];
            for (int i = 0; i < reads; i++)
            {
                offsets[i] = random.NextInt64(0, expected.Length);
                buffers[i] = new byte[random.Next(1, 40_000)];
                pending[i] = file.ReadAsync(buffers[i], offsets[i]).AsTask();
            }

            int[] counts = await Task.WhenAll(pending).Within();
            for (int i = 0; i < reads; i++)
            {
                int want = (int)Math.Min(buffers[i].Length, expected.Length - offsets[i]);
                Assert.Equal(want, counts[i]);
                Assert.True(expected.AsSpan((int)offsets[i], want).SequenceEqual(buffers[i].AsSpan(0, want)), $"read {i} at {offsets[i]} differs");
            }
        }

        // And the OS agrees, read through another API.
        Assert.Equal(expected, await File.ReadAllBytesAsync(path).Within());
    }

    [Fact]
    public async Task ReadsAtOrPastTheEndReturnZero()
    {
        using var file = _port.OpenFile(_dir.File("eof.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        Assert.Equal(100, await file.WriteAsync(new byte[100], 0).Within());
        var buffer = new byte[64];
        Assert.Equal(0, await file.ReadAsync(buffer, 100).Within());
        Assert.Equal(0, await file.ReadAsync(buffer, 1_000_000).Within());
        Assert.Equal(0, await file.ReadAsync(buffer, 1L << 40).Within());
        Assert.Equal(36, await file.ReadAsync(buffer, 64).Within()); // a short read at the end
    }

    [Fact]
    public async Task EmptyBuffersTransferNothing()
    {
        using var file = _port.OpenFile(_dir.File("empty.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        Assert.Equal(0, await file.WriteAsync(ReadOnlyMemory<byte>.Empty, 0).Within());
        Assert.Equal(0, await file.ReadAsync(Memory<byte>.Empty, 0).Within());
        Assert.Equal(0, file.Length);
    }

    [Fact]
    public async Task ArrayOverloadsUseTheGivenRange()
    {
        using var file = _port.OpenFile(_dir.File("array.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        byte[] data = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        Assert.Equal(4, await file.WriteAsync(data, 3, 4, 10).Within());
        Assert.Equal(14, file.Length);
        var back = new byte[10];
        Assert.Equal(4, await file.ReadAsync(back, 2, 6, 10).Within());
        Assert.Equal(new byte[] { 0, 0, 3, 4, 5, 6, 0, 0, 0, 0 }, back);
    }

    [Fact]
    public async Task FlushLengthAndReopen()
    {
        string path = _dir.File("flush.bin");
        byte[] data = TestSupport.RandomBytes(10_000, seed: 4);
        using (var file = _port.OpenFile(path, FileMode.Create, FileAccess.Write))
        {
            Assert.Equal(data.Length, await file.WriteAsync(data, 0).Within());
            await file.FlushAsync().Within();
            Assert.Equal(data.Length, file.Length);
            Assert.True(file.CanWrite);
            Assert.False(file.CanRead);
            Assert.Equal(Path.GetFullPath(path), file.Path);
        }

        using (var file = _port.OpenFile(path, FileMode.Open, FileAccess.Read))
        {
            var back = new byte[data.Length];
            Assert.Equal(data.Length, await file.ReadAsync(back, 0).Within());
            Assert.Equal(data, back);
        }

        // Create truncates an existing file; Truncate too.
        using (var file = _port.OpenFile(path, FileMode.Create, FileAccess.ReadWrite))
        {
            Assert.Equal(0, file.Length);
            await file.WriteAsync(new byte[5], 0).Within();
        }

        using (var file = _port.OpenFile(path, FileMode.Truncate, FileAccess.Write))
        {
            Assert.Equal(0, file.Length);
        }
    }

    [Fact]
    public async Task AppendModeWritesAtTheEnd()
    {
        string path = _dir.File("append.log");
        using (var file = _port.OpenFile(path, FileMode.Append, FileAccess.Write))
        {
            await file.WriteAsync("abc"u8.ToArray(), 0).Within();
            await file.WriteAsync("def"u8.ToArray(), 0).Within(); // the offset is ignored
        }

        Assert.Equal("abcdef", await File.ReadAllTextAsync(path).Within());
    }

    [Fact]
    public async Task OpenOrCreateKeepsContent()
    {
        string path = _dir.File("keep.bin");
        await File.WriteAllBytesAsync(path, [1, 2, 3]).Within();
        using var file = _port.OpenFile(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        Assert.Equal(3, file.Length);
    }

    [Fact]
    public void MissingFileAndDirectoryThrowTheBclExceptions()
    {
        string missing = _dir.File("missing.bin");
        var notFound = Assert.Throws<FileNotFoundException>(() => _port.OpenFile(missing, FileMode.Open, FileAccess.Read));
        Assert.Equal(Path.GetFullPath(missing), notFound.FileName);
        Assert.Throws<FileNotFoundException>(() => _port.OpenFile(missing, FileMode.Truncate, FileAccess.Write));
        Assert.Throws<DirectoryNotFoundException>(() => _port.OpenFile(Path.Combine(_dir.Path, "no-such-dir", "x.bin"), FileMode.Open, FileAccess.Read));
        Assert.Throws<DirectoryNotFoundException>(() => _port.OpenFile(Path.Combine(_dir.Path, "no-such-dir", "x.bin"), FileMode.Create, FileAccess.Write));
    }

    [Fact]
    public void ExistingFileWithCreateNewThrowsIOException()
    {
        string path = _dir.File("exists.bin");
        File.WriteAllBytes(path, [1]);
        var ex = Assert.Throws<IOException>(() => _port.OpenFile(path, FileMode.CreateNew, FileAccess.Write));
        Assert.IsType<IOException>(ex); // not a subclass such as FileNotFoundException
    }

    [Fact]
    public void DirectoryPathThrowsUnauthorizedAccess()
    {
        Assert.Throws<UnauthorizedAccessException>(() => _port.OpenFile(_dir.Path, FileMode.Open, FileAccess.Read));
    }

    [Fact]
    public async Task WriteToAFileOpenedReadOnlyThrowsUnauthorizedAccess()
    {
        string path = _dir.File("ro.bin");
        await File.WriteAllBytesAsync(path, [1, 2, 3]).Within();
        using (var file = _port.OpenFile(path, FileMode.Open, FileAccess.Read))
        {
            Assert.Throws<UnauthorizedAccessException>(() => file.WriteAsync(new byte[1], 0));
            Assert.Throws<UnauthorizedAccessException>(() => { _ = file.WriteAsync(new byte[1], 0, 1, 0); });
        }

        using (var file = _port.OpenFile(path, FileMode.Open, FileAccess.Write))
        {
            Assert.Throws<UnauthorizedAccessException>(() => file.ReadAsync(new byte[1], 0));
        }

        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(path).Within());
    }

    [Fact(Skip = "root bypasses file permissions (Linux, and Wine run by root)", SkipWhen = nameof(TestSupport.RunningAsRoot), SkipType = typeof(TestSupport))]
    public void OpeningAReadOnlyFileForWritingThrowsUnauthorizedAccess()
    {
        string path = _dir.File("readonly.bin");
        File.WriteAllBytes(path, [1]);
        File.SetAttributes(path, FileAttributes.ReadOnly);
        try
        {
            Assert.Throws<UnauthorizedAccessException>(() => _port.OpenFile(path, FileMode.Open, FileAccess.Write));
        }
        finally
        {
            File.SetAttributes(path, FileAttributes.Normal);
        }
    }

    // Root bypasses permission bits, but not a sysfs attribute without a store method: opening one
    // for writing fails with EACCES for everybody, so this runs where the test above must skip.
    [Fact(Skip = "needs Linux sysfs", SkipUnless = nameof(TestSupport.HasSysfsReadOnlyFile), SkipType = typeof(TestSupport))]
    public void OpeningAWriteProtectedSysfsFileForWritingThrowsUnauthorizedAccess()
    {
        Assert.Throws<UnauthorizedAccessException>(() => _port.OpenFile(TestSupport.SysfsReadOnlyFile, FileMode.Open, FileAccess.Write));
        Assert.Equal(0, _port.GetStatistics().HandlesOpen);
    }

    [Fact]
    public void BadArgumentsThrowBclExceptions()
    {
        Assert.Throws<ArgumentNullException>(() => _port.OpenFile(null!, FileMode.Open, FileAccess.Read));
        Assert.Throws<ArgumentException>(() => _port.OpenFile("", FileMode.Open, FileAccess.Read));
        Assert.Throws<ArgumentException>(() => _port.OpenFile("a\0b", FileMode.Open, FileAccess.Read));
        Assert.Throws<ArgumentOutOfRangeException>(() => _port.OpenFile("x", (FileMode)99, FileAccess.Read));
        Assert.Throws<ArgumentOutOfRangeException>(() => _port.OpenFile("x", FileMode.Open, (FileAccess)99));
        Assert.Throws<ArgumentOutOfRangeException>(() => _port.OpenFile("x", FileMode.Open, FileAccess.Read, (PortFileOptions)8));
        Assert.Throws<ArgumentException>(() => _port.OpenFile("x", FileMode.CreateNew, FileAccess.Read));
        Assert.Throws<ArgumentException>(() => _port.OpenFile("x", FileMode.Create, FileAccess.Read));
        Assert.Throws<ArgumentException>(() => _port.OpenFile("x", FileMode.Truncate, FileAccess.Read));
        Assert.Throws<ArgumentException>(() => _port.OpenFile("x", FileMode.OpenOrCreate, FileAccess.Read));
        Assert.Throws<ArgumentException>(() => _port.OpenFile("x", FileMode.Append, FileAccess.ReadWrite));

        using var file = _port.OpenFile(_dir.File("args.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        var buffer = new byte[16];
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadAsync(buffer, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.WriteAsync(buffer, -1));
        Assert.Throws<ArgumentNullException>(() => { _ = file.ReadAsync(null!, 0, 1, 0); });
        Assert.Throws<ArgumentNullException>(() => { _ = file.WriteAsync(null!, 0, 1, 0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = file.ReadAsync(buffer, -1, 1, 0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = file.ReadAsync(buffer, 0, -1, 0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = file.ReadAsync(buffer, 10, 7, 0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = file.ReadAsync(buffer, 17, 0, 0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = file.WriteAsync(buffer, 16, 1, 0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = file.ReadAsync(buffer, 0, 1, -5); });
        Assert.Throws<ArgumentOutOfRangeException>(() => PortFile.AllocateAlignedBuffer(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PortFile.AllocateAlignedBuffer(100));
    }

    [Fact]
    public async Task UnbufferedFilesNeedAlignedBuffersLengthsAndOffsets()
    {
        const int a = PortFile.UnbufferedAlignment;
        string path = _dir.File("direct.bin");
        Memory<byte> aligned = PortFile.AllocateAlignedBuffer(4 * a);
        TestSupport.RandomBytes(aligned.Length, seed: 5).CopyTo(aligned);
        using (var file = _port.OpenFile(path, FileMode.CreateNew, FileAccess.ReadWrite, PortFileOptions.Unbuffered))
        {
            Assert.Equal(PortFileOptions.Unbuffered, file.Options);
            Assert.Equal(4 * a, await file.WriteAsync(aligned, a).Within());

            Memory<byte> back = PortFile.AllocateAlignedBuffer(4 * a);
            Assert.Equal(4 * a, await file.ReadAsync(back, a).Within());
            Assert.True(aligned.Span.SequenceEqual(back.Span));
            Assert.Equal(0, await file.ReadAsync(back, 8 * a).Within());

            Assert.Throws<ArgumentException>(() => file.ReadAsync(back[..100], 0));      // length
            Assert.Throws<ArgumentException>(() => file.ReadAsync(back[..a], 512));      // offset
            Assert.Throws<ArgumentException>(() => file.ReadAsync(back.Slice(1, a), 0)); // address
            Assert.Throws<ArgumentException>(() => file.WriteAsync(aligned.Slice(8, a), 0));
        }

        Assert.Equal(5 * a, new FileInfo(path).Length);
    }

    [Fact]
    public async Task UnbufferedReadsStartedByContinuationsReturnTheirBlocks()
    {
        // 32 closed loops of reads, each started by the previous one's continuation: on the thread
        // pool, a batch of continuations holds the port's wake-ups, which on io_uring sends these
        // reads through the ring's direct ring (native/src/linux/uring_direct.c), and the holding
        // pool thread takes their completions itself (uring_direct_reap.c, CompletionDispatcher).
        const int a = PortFile.UnbufferedAlignment;
        const int blocks = 64;
        using var file = OpenUnbufferedWithRandomContent("chained.bin", blocks, seed: 11, out byte[] content);

        async Task ReadLoop(int lane)
        {
            Memory<byte> buffer = PortFile.AllocateAlignedBuffer(a);
            for (int i = 0; i < 40; i++)
            {
                int block = (lane * 7 + i * 13) % blocks;
                Assert.Equal(a, await file.ReadAsync(buffer, (long)block * a));
                Assert.True(buffer.Span.SequenceEqual(content.AsSpan(block * a, a)), $"block {block}");
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 32).Select(ReadLoop)).Within();
        Assert.Equal(0, _port.GetStatistics().OperationsInFlight);
    }

    /// <summary>A new file of <paramref name="blocks"/> unbuffered blocks of random bytes, opened unbuffered for reading.</summary>
    private PortFile OpenUnbufferedWithRandomContent(string name, int blocks, int seed, out byte[] content)
    {
        string path = _dir.File(name);
        content = TestSupport.RandomBytes(blocks * PortFile.UnbufferedAlignment, seed);
        File.WriteAllBytes(path, content);
        return _port.OpenFile(path, FileMode.Open, FileAccess.Read, PortFileOptions.Unbuffered);
    }

    // Blocking waits are what this test is about (sync-over-async inside a continuation).
#pragma warning disable xUnit1031
    [Fact]
    public async Task AContinuationThatBlocksOnAnUnbufferedReadDoesNotHang()
    {
        // The continuations run in batches under a reaping hold of the port's wake-ups; on io_uring
        // the reads each one blocks on go through the direct ring, whose completion signal is off
        // while a reaper is there, so the port's worker must still deliver them while it blocks
        // (and the blocked thread, which would take them only at its release, must not be waited for).
        const int a = PortFile.UnbufferedAlignment;
        const int blocks = 16;
        using var file = OpenUnbufferedWithRandomContent("blocking.bin", blocks, seed: 12, out byte[] content);

        async Task Lane(int lane)
        {
            Memory<byte> first = PortFile.AllocateAlignedBuffer(a);
            Memory<byte>[] more = [PortFile.AllocateAlignedBuffer(a), PortFile.AllocateAlignedBuffer(a), PortFile.AllocateAlignedBuffer(a), PortFile.AllocateAlignedBuffer(a), PortFile.AllocateAlignedBuffer(a)];
            for (int i = 0; i < 5; i++)
            {
                int block = (lane * 5 + i) % blocks;
                Assert.Equal(a, await file.ReadAsync(first, (long)block * a));
                // Five reads, one more than the direct ring's chunk: one enter inside them, the rest at the release.
                Task<int>[] blocked = more.Select((buffer, k) => file.ReadAsync(buffer, (long)((block + 1 + k) % blocks) * a).AsTask()).ToArray();
                Assert.True(Task.WaitAll(blocked, TimeSpan.FromSeconds(30)), "a blocking wait inside a continuation hung");
                for (int k = 0; k < more.Length; k++)
                {
                    int expected = (block + 1 + k) % blocks;
                    Assert.Equal(a, blocked[k].Result);
                    Assert.True(more[k].Span.SequenceEqual(content.AsSpan(expected * a, a)), $"block {expected}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(Lane)).Within();
        Assert.Equal(0, _port.GetStatistics().OperationsInFlight);
    }
#pragma warning restore xUnit1031

    [Fact]
    public async Task AlreadyCancelledTokenStartsNothing()
    {
        using var file = _port.OpenFile(_dir.File("cancelled.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        long started = _port.GetStatistics().OperationsStarted;

        var read = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => file.ReadAsync(new byte[8], 0, cts.Token).AsTask());
        Assert.Equal(cts.Token, read.CancellationToken);
        var write = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => file.WriteAsync(new byte[8], 0, cts.Token).AsTask());
        Assert.Equal(cts.Token, write.CancellationToken);
        var flush = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => file.FlushAsync(cts.Token).AsTask());
        Assert.Equal(cts.Token, flush.CancellationToken);
        var array = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => file.ReadAsync(new byte[8], 0, 8, 0, cts.Token));
        Assert.Equal(cts.Token, array.CancellationToken);

        Assert.Equal(started, _port.GetStatistics().OperationsStarted);
        Assert.Equal(0, file.Length);
    }

    [Fact]
    public async Task CancellableTokenThatIsNotCancelledDoesNotDisturb()
    {
        using var file = _port.OpenFile(_dir.File("token.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        using var cts = new CancellationTokenSource();
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(4, await file.WriteAsync(BitConverter.GetBytes(i), i * 4L, cts.Token).Within());
        }

        var back = new byte[800];
        Assert.Equal(800, await file.ReadAsync(back, 0, cts.Token).Within());
        Assert.Equal(199, BitConverter.ToInt32(back, 796));
    }

    [Fact]
    public async Task DisposedFileThrowsObjectDisposed()
    {
        var file = _port.OpenFile(_dir.File("disposed.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        Assert.False(file.IsClosed);
        file.Dispose();
        file.Dispose();
        Assert.True(file.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => file.ReadAsync(new byte[1], 0));
        Assert.Throws<ObjectDisposedException>(() => file.WriteAsync(new byte[1], 0));
        Assert.Throws<ObjectDisposedException>(() => file.FlushAsync());
        Assert.Throws<ObjectDisposedException>(() => file.Length);
        Assert.Throws<ObjectDisposedException>(() => file.CancelPendingOperations());
        await TestSupport.Eventually(() => _port.GetStatistics().HandlesOpen == 0, "handles_open 0");
    }

    [Fact]
    public async Task FilesOfADisposedPortThrowObjectDisposed()
    {
        var port = new CompletionPort();
        var file = port.OpenFile(_dir.File("orphan.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        await port.DisposeAsync().Within();
        Assert.Throws<ObjectDisposedException>(() => file.ReadAsync(new byte[1], 0));
        Assert.Throws<ObjectDisposedException>(() => file.Length);
        file.Dispose(); // closing a handle the port already closed is fine
    }

    [Fact]
    public async Task DisposingThePortCompletesEveryFileOperationInFlight()
    {
        var port = new CompletionPort();
        var file = port.OpenFile(_dir.File("inflight.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        var data = new byte[64 * 1024];
        var tasks = new List<Task<int>>();
        for (int i = 0; i < 200; i++)
        {
            tasks.Add(file.WriteAsync(data, i * (long)data.Length).AsTask());
        }

        await port.DisposeAsync().Within();
        foreach (var task in tasks)
        {
            // Each one finished first (all bytes written) or was cancelled by the shutdown.
            try
            {
                Assert.Equal(data.Length, await task.Within());
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
