using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// Immediate attempts (iocph_socket_try_send / iocph_socket_try_receive): a send that fits into the
/// socket buffer, or a receive of bytes that have already arrived, finishes inside the call with one
/// nonblocking system call and a completed <see cref="ValueTask{TResult}"/>, instead of a trip through
/// the port and a thread hand-over. This is what the Windows stack does with
/// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS and what System.Net.Sockets does on Unix.
/// </summary>
public sealed partial class PortTcpConnection
{
    // A receive tries first only when the previous one filled the caller's whole buffer, so more
    // bytes are probably waiting. After a partial receive (the request/response pattern: the peer
    // waits for us) the next receive goes straight to the port: trying would cost a system call that
    // finds nothing. Only one receive is in flight at a time, so no lock.
    private bool _receiveMayHaveMore;

    /// <summary>Called when a receive completed with <paramref name="received"/> of <paramref name="requested"/> bytes.</summary>
    internal void NoteReceived(long received, long requested) => _receiveMayHaveMore = received == requested;

    private unsafe int TrySendNow(ReadOnlySpan<byte> buffer, out int sent)
    {
        uint n = 0;
        int rc;
        fixed (byte* p = buffer)
        {
            rc = NativeMethods.iocph_socket_try_send(NativeHandle, p, (uint)buffer.Length, &n);
        }

        sent = (int)n;
        return rc;
    }

    private unsafe int TryReceiveNow(Span<byte> buffer, out int received)
    {
        uint n = 0;
        int rc;
        fixed (byte* p = buffer)
        {
            rc = NativeMethods.iocph_socket_try_receive(NativeHandle, p, (uint)buffer.Length, &n);
        }

        received = (int)n;
        NoteReceived(rc == NativeErrors.Ok ? n : 0, buffer.Length);
        return rc;
    }
}
