using System.Diagnostics;

namespace IocpHybrid.Tests;

/// <summary>Helpers shared by the tests: time limits, temporary directories, ports.</summary>
public static class TestSupport
{
    /// <summary>
    /// The longest any single awaited step may take before the test fails instead of hanging.
    /// Generous because the same tests run under Wine, which is much slower than Linux.
    /// </summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    public static Task<T> Within<T>(this ValueTask<T> task, TimeSpan? timeout = null) => task.AsTask().WaitAsync(timeout ?? StepTimeout);

    public static Task Within(this ValueTask task, TimeSpan? timeout = null) => task.AsTask().WaitAsync(timeout ?? StepTimeout);

    public static Task<T> Within<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? StepTimeout);

    public static Task Within(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? StepTimeout);

    /// <summary>
    /// The backend the default port must use here: the one IOCPH_BACKEND names, else IOCP on Windows and on
    /// Linux io_uring where it may run, epoll where it is refused.
    /// </summary>
    public static CompletionPortBackend ExpectedDefaultBackend()
    {
        switch (Environment.GetEnvironmentVariable("IOCPH_BACKEND"))
        {
            case "iocp": return CompletionPortBackend.Iocp;
            case "io_uring": return CompletionPortBackend.IoUring;
            case "epoll": return CompletionPortBackend.Epoll;
        }

        if (OperatingSystem.IsWindows())
        {
            return CompletionPortBackend.Iocp;
        }

        return CompletionPort.IsBackendAvailable(CompletionPortBackend.IoUring, out _)
            ? CompletionPortBackend.IoUring
            : CompletionPortBackend.Epoll;
    }

    /// <summary>Linux backends do work that needs no wait inside the call (iocph_*_try_*); IOCP declines sends and file reads.</summary>
    public static bool AttemptsInTheCall => ExpectedDefaultBackend() != CompletionPortBackend.Iocp;

    /// <summary>A backend that does not exist on this OS.</summary>
    public static CompletionPortBackend ForeignBackend() =>
        OperatingSystem.IsWindows() ? CompletionPortBackend.IoUring : CompletionPortBackend.Iocp;

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Waits until the condition holds (for counters updated just after a completion is delivered).</summary>
    public static async Task Eventually(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > StepTimeout)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether file permissions are bypassed: root on Linux, and under Wine run by root (Wine maps the
    /// read-only attribute to Unix permissions, which root ignores; Wine reports the Unix user name).
    /// </summary>
    public static bool RunningAsRoot => Environment.UserName == "root";

    /// <summary>A sysfs attribute with no store method: opening it for writing fails even for root.</summary>
    public const string SysfsReadOnlyFile = "/sys/kernel/notes";

    public static bool HasSysfsReadOnlyFile => OperatingSystem.IsLinux() && File.Exists(SysfsReadOnlyFile);
}

/// <summary>A directory under the temp path, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "iocph-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
