using IocpHybrid.Interop;

namespace IocpHybrid;

public sealed unsafe partial class CompletionPort
{
    /// <summary>Whether <paramref name="backend"/> can run in this process, and if not, why.</summary>
    /// <param name="backend">The backend to ask about; <see cref="CompletionPortBackend.Default"/> always can.</param>
    /// <param name="reason">Why it can't (<see cref="CompletionPortBackendReason.None"/> when it can).</param>
    /// <returns><see langword="true"/> if a port could be created on it here.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="backend"/> is not a known backend.</exception>
    /// <exception cref="IOException">The process is out of file descriptors, so the question can't be
    /// answered now (nothing is remembered: ask again once descriptors are free).</exception>
    public static bool IsBackendAvailable(CompletionPortBackend backend, out CompletionPortBackendReason reason)
    {
        int r, osError;
        int rc = NativeMethods.iocph_backend_probe((int)backend, &r, &osError);
        if (rc == (int)iocph_status.IOCPH_E_INVALID_ARGUMENT)
        {
            throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown completion port backend.");
        }

        if (rc != NativeErrors.Ok && rc != (int)iocph_status.IOCPH_E_UNSUPPORTED)
        {
            throw NativeErrors.CreateException(rc, osError);
        }

        reason = (CompletionPortBackendReason)r;
        return rc == NativeErrors.Ok;
    }

    private static string BackendNativeName(CompletionPortBackend backend)
    {
        sbyte* name = NativeMethods.iocph_backend_name((int)backend);
        return name is null ? backend.ToString() : new string(name);
    }

    private static string ReasonMessage(CompletionPortBackendReason reason)
    {
        sbyte* text = NativeMethods.iocph_backend_reason_message((int)reason);
        return text is null ? reason.ToString() : new string(text);
    }

    /// <summary>The exception for a port whose backend, named by the options or IOCPH_BACKEND, is refused.</summary>
    private static PlatformNotSupportedException BackendRefused(CompletionPortBackend requested)
    {
        string? variable = Environment.GetEnvironmentVariable("IOCPH_BACKEND");
        CompletionPortBackend named = requested;
        if (requested == CompletionPortBackend.Default && !string.IsNullOrEmpty(variable) && variable != "default")
        {
            CompletionPortBackend? parsed = variable switch
            {
                "iocp" => CompletionPortBackend.Iocp,
                "io_uring" => CompletionPortBackend.IoUring,
                "epoll" => CompletionPortBackend.Epoll,
                _ => null,
            };
            if (parsed is null)
            {
                return new PlatformNotSupportedException(
                    $"The environment variable IOCPH_BACKEND='{variable}' names no backend: use iocp, io_uring, epoll or default.");
            }

            named = parsed.Value;
        }

        string source = requested == CompletionPortBackend.Default ? "IOCPH_BACKEND" : "CompletionPortOptions.Backend";
        string why = IsBackendAvailable(named, out CompletionPortBackendReason reason)
            ? "it could not be set up for this port"
            : ReasonMessage(reason);
        string wayOut = named == CompletionPortBackend.IoUring && OperatingSystem.IsLinux()
            ? " Leave the backend to the default (or set IOCPH_BACKEND=epoll) to run on epoll instead."
            : string.Empty;
        return new PlatformNotSupportedException(
            $"The {BackendNativeName(named)} backend, named by {source}, can't run here: {why}.{wayOut}");
    }
}
