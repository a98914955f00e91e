using System.Buffers;
using System.IO.Pipelines;

namespace IocpHybrid;

/// <summary>How a <see cref="PortDuplexPipe"/> buffers and schedules (the shape of Kestrel's <c>SocketTransportOptions</c>).</summary>
public sealed class PortDuplexPipeOptions
{
    private long _maxReadBufferSize = 1024 * 1024;
    private long _maxWriteBufferSize = 64 * 1024;

    /// <summary>
    /// The most received bytes the input pipe holds before the receive loop stops receiving until the
    /// application reads (back-pressure); 0 = no limit. Default 1 MiB.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long MaxReadBufferSize
    {
        get => _maxReadBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxReadBufferSize = value;
        }
    }

    /// <summary>
    /// The most unsent bytes the output pipe holds before the application's <see cref="PipeWriter.FlushAsync(CancellationToken)"/>
    /// waits for the send loop (back-pressure); 0 = no limit. Default 64 KiB.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long MaxWriteBufferSize
    {
        get => _maxWriteBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxWriteBufferSize = value;
        }
    }

    /// <summary>
    /// Whether the receive loop waits for data with an empty receive before it takes a buffer from the pool
    /// (default <see langword="true"/>): an idle connection then holds no buffer.
    /// </summary>
    public bool WaitForDataBeforeAllocatingBuffer { get; set; } = true;

    /// <summary>
    /// Whether the application's pipe continuations run inline, on the thread that completed the I/O
    /// (a port worker when the port has <see cref="CompletionPortOptions.InlineCompletions"/>), rather than
    /// on the thread pool. Faster, and unsafe for code that blocks: as Kestrel's <c>UnsafePreferInlineScheduling</c>.
    /// </summary>
    public bool UnsafePreferInlineScheduling { get; set; }

    /// <summary>The pool the pipes take their buffers from; <see langword="null"/> (default) = the library's shared pool of pinned 4 KiB blocks.</summary>
    public MemoryPool<byte>? MemoryPool { get; set; }

    /// <summary>
    /// Turns a receive failure into what <see cref="PortDuplexPipe.Input"/> completes with (the Kestrel
    /// transport makes a reset a <c>ConnectionResetException</c>); <see langword="null"/> = as it is.
    /// </summary>
    internal Func<Exception, Exception>? ReceiveErrorMap { get; set; }
}
