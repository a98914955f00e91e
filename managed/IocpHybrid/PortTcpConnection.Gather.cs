using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using IocpHybrid.Interop;

namespace IocpHybrid;

public sealed partial class PortTcpConnection
{
    /// <summary>
    /// Sends every byte of a multi-segment buffer with gather sends (up to <c>IOCPH_MAX_BUFFERS</c>
    /// segments per native operation; longer sequences take several, in order).
    /// </summary>
    /// <param name="buffers">The data; it must not change until the task completes.</param>
    /// <param name="cancellationToken">Cancels the send (the connection is then in an unknown state).</param>
    /// <returns>A task that completes when every byte is sent.</returns>
    /// <exception cref="SocketException">The send failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask SendAsync(ReadOnlySequence<byte> buffers, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (buffers.IsSingleSegment)
        {
            ValueTask<int> single = SendAsync(buffers.First, cancellationToken);
            if (single.IsCompletedSuccessfully)
            {
                _ = single.Result; // consumes it: returns a pooled operation
                return default;
            }

            return AwaitSingleAsync(single);
        }

        StartedSends sends;
        EnterSendStart();
        try
        {
            sends = StartSequence(buffers, cancellationToken);
        }
        finally
        {
            ExitSendStart();
        }

        return AwaitSequenceAsync(sends);
    }

    /// <summary>Sends every byte of a list of array segments with gather sends (see <see cref="SendAsync(ReadOnlySequence{byte}, CancellationToken)"/>).</summary>
    /// <param name="buffers">The segments, sent in order; they must not change until the task completes.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The number of bytes sent: the sum of the segments' lengths.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffers"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A segment has no array.</exception>
    /// <exception cref="SocketException">The send failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    public Task<int> SendAsync(IList<ArraySegment<byte>> buffers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        long total = 0;
        for (int i = 0; i < buffers.Count; i++)
        {
            if (buffers[i].Array is null)
            {
                throw new ArgumentException($"Segment {i} has no array.", nameof(buffers));
            }

            total += buffers[i].Count;
        }

        if (total > int.MaxValue)
        {
            throw new ArgumentException("The segments hold more than int.MaxValue bytes.", nameof(buffers));
        }

        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<int>(cancellationToken);
        }

        if (total == 0)
        {
            return Task.FromResult(0);
        }

        StartedSends sends;
        EnterSendStart();
        try
        {
            sends = StartList(buffers, cancellationToken);
        }
        finally
        {
            ExitSendStart();
        }

        return sends.AwaitAll().AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitSingleAsync(ValueTask<int> send) => await send.ConfigureAwait(false);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitSequenceAsync(StartedSends sends) => await sends.AwaitAll().ConfigureAwait(false);

    // The two Start* methods start every gather send of one call back to back, without awaiting in
    // between (another call's send must not get between them; the native sends of a socket go out in
    // the order they were started). The caller holds EnterSendStart. They never throw: a failed start
    // is a faulted entry, and nothing after it is started.

    private StartedSends StartSequence(ReadOnlySequence<byte> buffers, CancellationToken cancellationToken)
    {
        StartedSends sends = default;
        GatherBatch batch = default;
        foreach (ReadOnlyMemory<byte> segment in buffers)
        {
            ReadOnlyMemory<byte> rest = segment;
            while (!rest.IsEmpty)
            {
                if (batch.Add(ref rest) && !StartGather(ref batch, ref sends, cancellationToken))
                {
                    return sends;
                }
            }
        }

        if (batch.Count > 0)
        {
            StartGather(ref batch, ref sends, cancellationToken);
        }

        return sends;
    }

    private StartedSends StartList(IList<ArraySegment<byte>> buffers, CancellationToken cancellationToken)
    {
        StartedSends sends = default;
        GatherBatch batch = default;
        for (int i = 0; i < buffers.Count; i++)
        {
            ReadOnlyMemory<byte> rest = buffers[i];
            while (!rest.IsEmpty)
            {
                if (batch.Add(ref rest) && !StartGather(ref batch, ref sends, cancellationToken))
                {
                    return sends;
                }
            }
        }

        if (batch.Count > 0)
        {
            StartGather(ref batch, ref sends, cancellationToken);
        }

        return sends;
    }

    /// <summary>Starts one native send of the batch's buffers (each stays pinned until its completion), adds it and clears the batch; false when the start failed.</summary>
    private bool StartGather(ref GatherBatch batch, ref StartedSends sends, CancellationToken cancellationToken)
    {
        ValueTask<int> send = StartGather(ref batch, cancellationToken);
        batch.Clear();
        sends.Add(send);
        return !send.IsFaulted;
    }

    private unsafe ValueTask<int> StartGather(ref GatherBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 1)
        {
            return StartSend(batch[0], cancellationToken);
        }

        PortOperation op = Port.RentOperation();
        ulong handle = NativeHandle;
        ulong userData = op.Prepare(OperationKind.SocketSend, this, Key, default, cancellationToken);
        short version = op.Version;
        iocph_buffer* buffers = stackalloc iocph_buffer[GatherBatch.Capacity];
        for (int i = 0; i < batch.Count; i++)
        {
            MemoryHandle pin = batch[i].Pin();
            op.AddPin(pin);
            buffers[i] = new iocph_buffer { data = pin.Pointer, length = (uint)batch[i].Length };
        }

        ulong nativeOp = 0;
        int rc = NativeMethods.iocph_socket_send_gather(handle, buffers, (uint)batch.Count, _sendTimeout, userData, &nativeOp);
        if (rc != NativeErrors.Ok)
        {
            op.Abandon();
            return ValueTask.FromException<int>(CreateStartException(rc));
        }

        op.Started(nativeOp);
        return new ValueTask<int>(op, version);
    }

    /// <summary>Up to <c>IOCPH_MAX_BUFFERS</c> buffers of at most <see cref="PortFile.MaxIoLength"/> bytes in all: one native gather send.</summary>
    private struct GatherBatch
    {
        internal const int Capacity = (int)NativeMethods.IOCPH_MAX_BUFFERS;

        private Segments _segments;
        private int _bytes;

        internal int Count { get; private set; }

        internal readonly ReadOnlyMemory<byte> this[int index] => _segments[index];

        /// <summary>Takes as much of <paramref name="rest"/> as fits; true when the batch is full and must be sent.</summary>
        internal bool Add(ref ReadOnlyMemory<byte> rest)
        {
            int take = Math.Min(rest.Length, PortFile.MaxIoLength - _bytes);
            _segments[Count++] = rest[..take];
            _bytes += take;
            rest = rest[take..];
            return Count == Capacity || _bytes == PortFile.MaxIoLength;
        }

        internal void Clear()
        {
            _segments = default;
            _bytes = 0;
            Count = 0;
        }
    }

    [InlineArray((int)NativeMethods.IOCPH_MAX_BUFFERS)]
    private struct Segments
    {
        private ReadOnlyMemory<byte> _element;
    }
}
