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

    /// <summary>The backend the default port must use on this OS.</summary>
    public static CompletionPortBackend ExpectedDefaultBackend()
    {
        string? forced = Environment.GetEnvironmentVariable("IOCPH_BACKEND");
        if (forced == "iocp")
        {
            return CompletionPortBackend.Iocp;
        }

        if (forced == "io_uring")
        {
            return CompletionPortBackend.IoUring;
        }

        return OperatingSystem.IsWindows() ? CompletionPortBackend.Iocp : CompletionPortBackend.IoUring;
    }

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
