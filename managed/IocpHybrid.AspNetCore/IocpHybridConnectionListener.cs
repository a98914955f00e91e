using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace IocpHybrid.AspNetCore;

/// <summary>Accepts connections for Kestrel on one endpoint.</summary>
internal sealed class IocpHybridConnectionListener : IConnectionListener
{
    private readonly PortTcpListener _listener;
    private readonly IocpHybridTransportOptions _options;
    private readonly PortDuplexPipeOptions _pipeOptions;
    private readonly ILogger _logger;
    private volatile bool _unbound;

    public IocpHybridConnectionListener(PortTcpListener listener, IocpHybridTransportOptions options, ILogger logger)
    {
        _listener = listener;
        _options = options;
        _logger = logger;
        EndPoint = listener.LocalEndPoint;
        _pipeOptions = new PortDuplexPipeOptions
        {
            MaxReadBufferSize = options.MaxReadBufferSize ?? 0,
            MaxWriteBufferSize = options.MaxWriteBufferSize ?? 0,
            WaitForDataBeforeAllocatingBuffer = options.WaitForDataBeforeAllocatingBuffer,
            UnsafePreferInlineScheduling = options.UnsafePreferInlineScheduling,
            ReceiveErrorMap = MapReceiveError,
        };
    }

    public EndPoint EndPoint { get; }

    /// <summary>The next connection; <see langword="null"/> once the listener was unbound or disposed (Kestrel's contract).</summary>
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            PortTcpConnection connection;
            try
            {
                connection = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null; // unbound or disposed
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted && _unbound)
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // A client that gave up while in the backlog: not the server's business; take the next.
                _logger.LogDebug(ex, "A connection was reset before it was accepted.");
                continue;
            }

            try
            {
                connection.NoDelay = _options.NoDelay;
            }
            catch (SocketException ex)
            {
                // Reset already: the connection reports it on its first receive.
                _logger.LogDebug(ex, "Could not set NoDelay on an accepted connection.");
            }

            return new IocpHybridConnection(connection, _pipeOptions);
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound = true;
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => UnbindAsync();

    /// <summary>Kestrel tells a reset peer (logged quietly) from other failures by <see cref="ConnectionResetException"/>.</summary>
    private static Exception MapReceiveError(Exception error) =>
        error is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown }
            ? new ConnectionResetException(error.Message, error)
            : error;
}
