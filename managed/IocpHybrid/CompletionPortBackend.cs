namespace IocpHybrid;

/// <summary>The operating-system mechanism a <see cref="CompletionPort"/> runs on.</summary>
public enum CompletionPortBackend
{
    /// <summary>
    /// The platform's default: I/O Completion Ports on Windows, io_uring on Linux. The environment
    /// variable <c>IOCPH_BACKEND</c> (<c>iocp</c> or <c>io_uring</c>) overrides it.
    /// </summary>
    Default = 0,

    /// <summary>Windows I/O Completion Ports.</summary>
    Iocp = 1,

    /// <summary>Linux io_uring.</summary>
    IoUring = 2,
}
