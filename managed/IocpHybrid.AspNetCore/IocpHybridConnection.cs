using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace IocpHybrid.AspNetCore;

/// <summary>One accepted connection as Kestrel sees it: a <see cref="PortDuplexPipe"/> and the features Kestrel asks for.</summary>
internal sealed class IocpHybridConnection : ConnectionContext, IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature,
    IMemoryPoolFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private static long s_lastId;
    private readonly PortDuplexPipe _pipe;
    private readonly FeatureCollection _features = new();
    private IDictionary<object, object?>? _items;

    public IocpHybridConnection(PortTcpConnection connection, PortDuplexPipeOptions options)
    {
        LocalEndPoint = connection.LocalEndPoint;
        RemoteEndPoint = connection.RemoteEndPoint;
        _pipe = new PortDuplexPipe(connection, options);
        Transport = _pipe;
        ConnectionId = "iocph-" + Interlocked.Increment(ref s_lastId).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IMemoryPoolFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed
    {
        get => _pipe.ConnectionClosed;
        set => throw new NotSupportedException("The transport owns the connection's closed token.");
    }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public MemoryPool<byte> MemoryPool => _pipe.MemoryPool;

    public override void Abort(ConnectionAbortedException abortReason) => _pipe.Abort(abortReason);

    /// <summary>Called by Kestrel once the connection's middleware is done: completes the pipes and waits for the loops.</summary>
    public override ValueTask DisposeAsync() => _pipe.DisposeAsync();
}
