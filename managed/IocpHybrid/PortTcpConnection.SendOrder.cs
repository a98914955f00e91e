using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace IocpHybrid;

/// <summary>
/// Concurrent sends, kept whole and in order as System.Net.Sockets keeps them. The native asynchronous
/// sends of a socket go out one after another in the order they were started (a short send finishes
/// before the next one starts), so what the managed side must guarantee is: (1) a send's native starts
/// (the immediate attempt, the rest after a partial attempt, every chunk or gather batch of one call)
/// are not interleaved with another call's, and (2) the immediate attempt (iocph_socket_try_send) is
/// made only while no asynchronous send is in flight, since its bytes would overtake those.
/// </summary>
public sealed partial class PortTcpConnection
{
    private const int SendStarting = int.MinValue;

    // Bit 31: a thread is starting a send (held for the start only: a nonblocking attempt and native
    // starts, never across an await). Bits 0-30: asynchronous sends in flight on the socket, counted by
    // PortOperation from its Prepare (before the native start) to its completion or abandonment.
    // One int rather than a lock object: an idle connection stays small.
    private int _sendState;

    /// <summary>Called by the send's <see cref="PortOperation"/>: +1 before its native start, -1 when it completed or failed to start.</summary>
    internal void AddSendsInFlight(int delta) => Interlocked.Add(ref _sendState, delta);

    private bool SendInFlight => (Volatile.Read(ref _sendState) & ~SendStarting) != 0;

    private void EnterSendStart()
    {
        SpinWait spin = default;
        while ((Interlocked.Or(ref _sendState, SendStarting) & SendStarting) != 0)
        {
            spin.SpinOnce();
        }
    }

    private void ExitSendStart() => Interlocked.And(ref _sendState, ~SendStarting);

    /// <summary>The immediate attempt sent part of the buffer and the port sends the rest.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AddSentAsync(ValueTask<int> rest, int sent) => sent + await rest.ConfigureAwait(false);

    /// <summary>The native sends one call started back to back (chunks, gather batches), in their order.</summary>
    private struct StartedSends
    {
        // The common case is one send: it is kept here and handed back as it is, with no array and no
        // extra await. A second one moves both into an array from the pool.
        private ValueTask<int> _single;
        private ValueTask<int>[]? _sends;

        internal int Count { get; private set; }

        internal void Add(ValueTask<int> send)
        {
            if (Count == 0)
            {
                _single = send;
                Count = 1;
                return;
            }

            if (_sends is null || Count == _sends.Length)
            {
                ValueTask<int>[] larger = ArrayPool<ValueTask<int>>.Shared.Rent(Math.Max(4, Count * 2));
                if (_sends is null)
                {
                    larger[0] = _single;
                    _single = default;
                }
                else
                {
                    _sends.AsSpan(0, Count).CopyTo(larger);
                    ArrayPool<ValueTask<int>>.Shared.Return(_sends, clearArray: true);
                }

                _sends = larger;
            }

            _sends[Count++] = send;
        }

        /// <summary>Awaits every send in order (see <see cref="AwaitAllAsync"/>).</summary>
        internal readonly ValueTask<int> AwaitAll() => Count switch
        {
            0 => new ValueTask<int>(0),
            1 => _single,
            _ => AwaitAllAsync(_sends!, Count),
        };
    }

    /// <summary>
    /// Awaits every send (each pooled task must be consumed, also after one failed), returns the array
    /// to the pool and returns the bytes sent, or throws the first failure in order.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AwaitAllAsync(ValueTask<int>[] sends, int count)
    {
        Exception? failure = null;
        int sent = 0;
        for (int i = 0; i < count; i++)
        {
            try
            {
                sent += await sends[i].ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure ??= ex;
            }
        }

        ArrayPool<ValueTask<int>>.Shared.Return(sends, clearArray: true);
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return sent;
    }
}
