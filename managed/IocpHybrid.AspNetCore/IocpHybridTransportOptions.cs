using System.Net.Sockets;

namespace IocpHybrid.AspNetCore;

/// <summary>Options of the IocpHybrid Kestrel transport, in the shape of Kestrel's <c>SocketTransportOptions</c>.</summary>
public sealed class IocpHybridTransportOptions
{
    private int _backlog = 512;
    private long? _maxReadBufferSize = 1024 * 1024;
    private long? _maxWriteBufferSize = 64 * 1024;
    private int _workerThreads;

    /// <summary>Whether accepted connections disable Nagle's algorithm (<see cref="SocketOptionName.NoDelay"/>). Default <see langword="true"/>.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>The listen backlog (pending connections the OS keeps). Default 512.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int Backlog
    {
        get => _backlog;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _backlog = value;
        }
    }

    /// <summary>The most received bytes a connection buffers before it stops receiving until Kestrel reads; <see langword="null"/> or 0 = no limit. Default 1 MiB.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long? MaxReadBufferSize
    {
        get => _maxReadBufferSize;
        set => _maxReadBufferSize = ValidBufferSize(value);
    }

    /// <summary>The most unsent bytes a connection buffers before Kestrel's writes wait; <see langword="null"/> or 0 = no limit. Default 64 KiB.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long? MaxWriteBufferSize
    {
        get => _maxWriteBufferSize;
        set => _maxWriteBufferSize = ValidBufferSize(value);
    }

    /// <summary>Whether a connection waits for data before it takes a receive buffer (an idle connection then holds none). Default <see langword="true"/>.</summary>
    public bool WaitForDataBeforeAllocatingBuffer { get; set; } = true;

    /// <summary>
    /// Whether Kestrel's code runs on the port's worker threads, where the I/O completed, instead of the
    /// thread pool (the port's <see cref="CompletionPortOptions.InlineCompletions"/> and inline pipe scheduling).
    /// Faster; application code that blocks then stalls every connection of that worker, as with Kestrel's
    /// <c>UnsafePreferInlineScheduling</c>.
    /// </summary>
    public bool UnsafePreferInlineScheduling { get; set; }

    /// <summary>The completion port's worker threads (io_uring: one ring each); 0 = one per processor (default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int WorkerThreads
    {
        get => _workerThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _workerThreads = value;
        }
    }

    /// <summary>Which backend the port uses; <see cref="CompletionPortBackend.Default"/> picks the best the system allows.</summary>
    public CompletionPortBackend Backend { get; set; } = CompletionPortBackend.Default;

    /// <summary>A buffer limit: null or 0 (no limit), or positive.</summary>
    private static long? ValidBufferSize(long? value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? paramName = null) =>
        value is < 0 ? throw new ArgumentOutOfRangeException(paramName, value, "A buffer size is 0 (no limit) or more.") : value;
}
