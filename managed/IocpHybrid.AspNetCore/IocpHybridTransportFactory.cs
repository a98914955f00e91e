using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IocpHybrid.AspNetCore;

/// <summary>
/// Kestrel's connection listener factory on a completion port: binds IP endpoints (TCP) and leaves
/// every other kind (Unix sockets, named pipes, ...) to the next transport (<see cref="CanBind"/>).
/// Registered by <see cref="WebHostBuilderIocpHybridExtensions.UseIocpHybrid(Microsoft.AspNetCore.Hosting.IWebHostBuilder)"/>.
/// </summary>
/// <remarks>
/// One completion port serves every listener and connection of the factory; it is made at the first bind
/// and disposed with the factory (the host's service provider disposes it at shutdown, after Kestrel has
/// closed its connections).
/// </remarks>
public sealed class IocpHybridTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector, IAsyncDisposable, IDisposable
{
    private readonly IocpHybridTransportOptions _options;
    private readonly ILogger _logger;
    private readonly object _portLock = new();
    private CompletionPort? _port;
    private bool _disposed;

    /// <summary>Makes the factory (the host's service provider calls this).</summary>
    /// <param name="options">The transport's options.</param>
    /// <param name="loggerFactory">Where the transport logs.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public IocpHybridTransportFactory(IOptions<IocpHybridTransportOptions> options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("IocpHybrid.AspNetCore");
    }

    /// <summary>The completion port, once the first endpoint is bound; <see langword="null"/> before.</summary>
    public CompletionPort? Port => Volatile.Read(ref _port);

    /// <summary>Whether this transport serves <paramref name="endpoint"/>: IP endpoints only.</summary>
    /// <param name="endpoint">An endpoint Kestrel is asked to listen on.</param>
    /// <returns><see langword="true"/> for an <see cref="IPEndPoint"/>.</returns>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <summary>Listens on an IP endpoint.</summary>
    /// <param name="endpoint">The endpoint (port 0: the system picks one; the listener's <see cref="IConnectionListener.EndPoint"/> tells which).</param>
    /// <param name="cancellationToken">Cancels the bind.</param>
    /// <returns>The listener.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="NotSupportedException"><paramref name="endpoint"/> is not an <see cref="IPEndPoint"/>.</exception>
    /// <exception cref="AddressInUseException">Something else listens there.</exception>
    /// <exception cref="ObjectDisposedException">The factory was disposed.</exception>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"The IocpHybrid transport listens on IP endpoints only, not on {endpoint.GetType().Name}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        CompletionPort port = GetPort();
        PortTcpListener listener;
        try
        {
            // Kestrel's "any address" is IPv6Any: take IPv4 too, as its socket transport does. Address
            // reuse lets a restarted server bind at once (on Windows it would let others share the port).
            listener = port.ListenTcp(
                ip, _options.Backlog,
                reuseAddress: !OperatingSystem.IsWindows(),
                dualMode: ip.Address.Equals(IPAddress.IPv6Any));
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            throw new AddressInUseException(ex.Message, ex);
        }

        return new ValueTask<IConnectionListener>(new IocpHybridConnectionListener(listener, _options, _logger));
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        CompletionPort? port;
        lock (_portLock)
        {
            _disposed = true;
            port = _port;
            _port = null;
        }

        return port?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private CompletionPort GetPort()
    {
        lock (_portLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_port is null)
            {
                _port = new CompletionPort(new CompletionPortOptions
                {
                    Backend = _options.Backend,
                    WorkerThreads = _options.WorkerThreads,
                    InlineCompletions = _options.UnsafePreferInlineScheduling,
                });
                _logger.LogInformation("IocpHybrid transport on the {Backend} backend ({Reason}).", _port.Backend, _port.BackendReasonMessage);
            }

            return _port;
        }
    }
}
