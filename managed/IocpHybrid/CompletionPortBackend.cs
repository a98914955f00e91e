namespace IocpHybrid;

/// <summary>The operating-system mechanism a <see cref="CompletionPort"/> runs on.</summary>
public enum CompletionPortBackend
{
    /// <summary>
    /// The best backend that runs here: I/O Completion Ports on Windows; on Linux io_uring, or epoll where
    /// io_uring is refused (a container's seccomp profile, <c>kernel.io_uring_disabled</c>, an old kernel).
    /// <see cref="CompletionPort.BackendReason"/> says why a port runs where it runs. The environment
    /// variable <c>IOCPH_BACKEND</c> (<c>iocp</c>, <c>io_uring</c>, <c>epoll</c> or <c>default</c>) overrides it.
    /// </summary>
    Default = 0,

    /// <summary>Windows I/O Completion Ports.</summary>
    Iocp = 1,

    /// <summary>Linux io_uring.</summary>
    IoUring = 2,

    /// <summary>
    /// Linux epoll: nonblocking sockets and pipes driven by readiness, regular files on a small pool of
    /// blocking threads. Runs wherever Linux does, containers included.
    /// </summary>
    Epoll = 3,
}
