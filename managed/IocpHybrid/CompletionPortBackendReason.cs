namespace IocpHybrid;

/// <summary>Why a <see cref="CompletionPort"/> runs on its backend, or why a backend can't run here.</summary>
public enum CompletionPortBackendReason
{
    /// <summary>The default's first choice for this system: nothing was refused.</summary>
    None = 0,

    /// <summary>Named by <see cref="CompletionPortOptions.Backend"/> or the <c>IOCPH_BACKEND</c> environment variable.</summary>
    Forced = 1,

    /// <summary>
    /// <c>io_uring_setup</c> was refused (EPERM) by a seccomp filter or security policy, as Docker's default
    /// profile, Docker Desktop and Kubernetes' <c>RuntimeDefault</c> profile do.
    /// </summary>
    IoUringBlocked = 2,

    /// <summary>The <c>kernel.io_uring_disabled</c> sysctl refuses io_uring to this process.</summary>
    IoUringDisabled = 3,

    /// <summary>Ring memory exceeds <c>RLIMIT_MEMLOCK</c> (kernels before 5.12).</summary>
    IoUringMemoryLocked = 4,

    /// <summary>No io_uring in this kernel or sandbox (ENOSYS, as in gVisor).</summary>
    IoUringMissing = 5,

    /// <summary>The kernel's io_uring lacks an operation or feature the library needs.</summary>
    IoUringTooOld = 6,

    /// <summary>io_uring could not be set up for the port.</summary>
    IoUringFailed = 7,

    /// <summary>The backend does not exist on this operating system.</summary>
    NotThisOperatingSystem = 8,
}
