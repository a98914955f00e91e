using System.Diagnostics;

namespace IocpHybrid.Tests;

/// <summary>
/// A write completes only when all of its bytes are written, as RandomAccess.WriteAsync does, also when
/// the OS takes them in parts.
/// </summary>
public sealed class PortFileWholeWriteTests
{
    public static bool CanMakeFifo => OperatingSystem.IsLinux() && File.Exists("/usr/bin/mkfifo");

    // A FIFO takes a large write in parts (as much as its buffer holds each time), which a regular file
    // does only in rare cases (a full disk, a file size limit). IOCP opens no FIFO; epoll writes it in
    // stream order on a file thread (pwrite says ESPIPE), where a write once begun can't be cancelled.
    [Fact(Skip = "needs a Linux FIFO (mkfifo)", SkipUnless = nameof(CanMakeFifo))]
    public async Task AWriteTheOsTakesInPartsIsWrittenWhole()
    {
        using var dir = new TempDirectory();
        string path = await MakeFifoAsync(dir);
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
        Assert.SkipUnless(port.Backend != CompletionPortBackend.Iocp, "only the Linux backends write to a FIFO opened as a file");
        byte[] data = TestSupport.RandomBytes(4 * 1024 * 1024, seed: 10);

        // Read-write: opening a FIFO that way does not wait for the other end.
        using (PortFile fifo = port.OpenFile(path, FileMode.Open, FileAccess.ReadWrite))
        {
            Task<byte[]> reading = Task.Run(() =>
            {
                using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
                var received = new byte[data.Length];
                reader.ReadExactly(received);
                return received;
            });

            int written = await fifo.WriteAsync(data, fileOffset: 0).Within();
            Assert.Equal(data.Length, written);
            Assert.Equal(data, await reading.Within());
        }
    }

    [Fact(Skip = "needs a Linux FIFO (mkfifo)", SkipUnless = nameof(CanMakeFifo))]
    public async Task CancellingAWriteTakenInPartsEndsItWithTheToken()
    {
        using var dir = new TempDirectory();
        string path = await MakeFifoAsync(dir);
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
        Assert.SkipUnless(port.Backend == CompletionPortBackend.IoUring, "on epoll a file write a pool thread has begun runs to its end (a blocking write nobody interrupts): see iocph_op_cancel");
        byte[] data = TestSupport.RandomBytes(4 * 1024 * 1024, seed: 11);
        using PortFile fifo = port.OpenFile(path, FileMode.Open, FileAccess.ReadWrite);
        using var cts = new CancellationTokenSource();

        // Nobody reads: the FIFO takes a first part, and the rest waits until the cancellation ends it
        // (whichever part it reaches).
        ValueTask<int> write = fifo.WriteAsync(data, fileOffset: 0, cts.Token);
        cts.Cancel();
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write.Within());
        Assert.Equal(cts.Token, ex.CancellationToken);

        await TestSupport.Eventually(() => port.GetStatistics().OperationsInFlight == 0, "no operation in flight");
    }

    private static async Task<string> MakeFifoAsync(TempDirectory dir)
    {
        string path = dir.File("fifo");
        using Process mkfifo = Process.Start("/usr/bin/mkfifo", ["-m", "600", path]);
        await mkfifo.WaitForExitAsync().Within();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }
}
