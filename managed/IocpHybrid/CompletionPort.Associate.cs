using System.Net.Sockets;
using System.Runtime.InteropServices;
using IocpHybrid.Interop;
using Microsoft.Win32.SafeHandles;

namespace IocpHybrid;

// Associating what the caller already has (CreateIoCompletionPort(handle, port, key, 0)): a
// SafeFileHandle, a Socket, a pipe handle. Every method asks the native core for a duplicate
// (IOCPH_ASSOCIATE_DUPLICATE): the returned object owns that duplicate and closes it when
// disposed, while the caller's object keeps owning its own handle, so neither closes what the
// other still uses and no BCL type has to be talked out of closing its handle.
public sealed unsafe partial class CompletionPort
{
    /// <summary>
    /// Associates a file the caller opened (for instance with <see cref="File.OpenHandle"/>) with this port.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The returned <see cref="PortFile"/> owns a duplicate of the OS handle and closes it when disposed;
    /// <paramref name="handle"/> stays the caller's, who may dispose it at once (the file stays open while
    /// either is). Don't read or write through <paramref name="handle"/> while the <see cref="PortFile"/> is in use.
    /// </para>
    /// <para>
    /// Linux: the file's access mode and <c>O_APPEND</c>/<c>O_DIRECT</c> come from the descriptor, and
    /// <c>O_NONBLOCK</c> is cleared on the open file description (shared with <paramref name="handle"/>).
    /// Windows: the file is reopened for overlapped I/O (<c>ReOpenFile</c>), so a handle opened with or
    /// without <see cref="FileOptions.Asynchronous"/> works (.NET binds asynchronous handles to its own
    /// thread pool's port when it opens them, which would refuse a second port); the reopen asks for read
    /// and write access, then for either: open the file with <see cref="FileShare.ReadWrite"/> to keep both.
    /// </para>
    /// </remarks>
    /// <param name="handle">An open file handle (not a directory, pipe or socket).</param>
    /// <param name="access">What the returned <see cref="PortFile"/> reports in <see cref="PortFile.CanRead"/>
    /// and <see cref="PortFile.CanWrite"/>; an operation the OS handle does not allow fails with
    /// <see cref="UnauthorizedAccessException"/>.</param>
    /// <returns>The associated file; dispose it to close the port's duplicate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="access"/> is not a <see cref="FileAccess"/> value.</exception>
    /// <exception cref="ArgumentException">The handle is not a file, is already associated with a completion port,
    /// or (Windows) can't be reopened for overlapped I/O.</exception>
    /// <exception cref="UnauthorizedAccessException">The handle is a directory, or open for neither reading nor writing.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the port was disposed.</exception>
    public PortFile AssociateFile(SafeFileHandle handle, FileAccess access = FileAccess.ReadWrite)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (access is not (FileAccess.Read or FileAccess.Write or FileAccess.ReadWrite))
        {
            throw new ArgumentOutOfRangeException(nameof(access), access, "Unknown FileAccess value.");
        }

        (ulong native, ulong key) = Associate(handle, iocph_handle_kind.IOCPH_HANDLE_FILE, nameof(handle));
        return new PortFile(this, native, key, "(associated file handle)", access, PortFileOptions.None, append: false);
    }

    /// <summary>Associates a connected TCP <see cref="Socket"/> with this port.</summary>
    /// <remarks>
    /// The returned connection owns a duplicate of the socket (Linux <c>dup</c>, Windows
    /// <c>WSADuplicateSocket</c>) and closes it when disposed; <paramref name="socket"/> stays the caller's:
    /// dispose it when you like (at once is fine: the connection stays open while either is), but don't use it
    /// for I/O any more. Linux: <c>O_NONBLOCK</c> of the socket is set to what the port's backend needs (shared
    /// with <paramref name="socket"/>). Windows: a <see cref="Socket"/> that already ran an asynchronous
    /// operation is bound to the .NET thread pool's port and is refused; use one that has not (a synchronous
    /// <see cref="Socket.Connect(System.Net.EndPoint)"/> or <see cref="Socket.Accept"/> is fine).
    /// </remarks>
    /// <param name="socket">A connected IPv4 or IPv6 stream socket.</param>
    /// <returns>The connection; dispose it to close the port's duplicate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The socket is not a connected TCP socket (a listener, a UDP socket, not connected),
    /// or is already associated with a completion port.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="socket"/> or the port was disposed.</exception>
    public PortTcpConnection AssociateTcpConnection(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        (ulong native, ulong key) = Associate(socket.SafeHandle, iocph_handle_kind.IOCPH_HANDLE_TCP, nameof(socket));
        return new PortTcpConnection(this, native, key);
    }

    /// <summary>Associates a listening TCP <see cref="Socket"/> with this port; accepts then go through the port.</summary>
    /// <remarks>Ownership as for <see cref="AssociateTcpConnection(Socket)"/>: the listener owns a duplicate,
    /// <paramref name="socket"/> stays the caller's and must not accept any more.</remarks>
    /// <param name="socket">A bound, listening IPv4 or IPv6 stream socket.</param>
    /// <returns>The listener; dispose it to close the port's duplicate (the socket stops listening once the caller's is closed too).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The socket is not listening, not TCP, or already associated with a completion port.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="socket"/> or the port was disposed.</exception>
    public PortTcpListener AssociateTcpListener(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        (ulong native, ulong key) = Associate(socket.SafeHandle, iocph_handle_kind.IOCPH_HANDLE_TCP_LISTENER, nameof(socket));
        return new PortTcpListener(this, native, key);
    }

    /// <summary>Associates a UDP <see cref="Socket"/> (bound or not) with this port.</summary>
    /// <remarks>Ownership as for <see cref="AssociateTcpConnection(Socket)"/>.</remarks>
    /// <param name="socket">An IPv4 or IPv6 datagram socket.</param>
    /// <returns>The UDP socket; dispose it to close the port's duplicate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The socket is not a UDP socket, or is already associated with a completion port.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="socket"/> or the port was disposed.</exception>
    public PortUdpSocket AssociateUdp(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        AddressFamily family = socket.AddressFamily;
        (ulong native, ulong key) = Associate(socket.SafeHandle, iocph_handle_kind.IOCPH_HANDLE_UDP, nameof(socket));
        return new PortUdpSocket(this, native, key, family);
    }

    /// <summary>Associates the read end of a pipe with this port.</summary>
    /// <remarks>
    /// <para>
    /// <paramref name="pipeHandle"/> is any handle of a pipe's read end: a <see cref="SafePipeHandle"/> (for instance
    /// <c>AnonymousPipeServerStream.SafePipeHandle</c> of an inbound server on Linux) or another <see cref="SafeHandle"/>.
    /// The reader owns a duplicate and closes it when disposed; the caller keeps its own handle (dispose it when
    /// you like, but don't read through it any more).
    /// </para>
    /// <para>
    /// Linux: a pipe, a FIFO or a stream socket; <c>O_NONBLOCK</c> is set to what the port's backend needs.
    /// Windows: the handle must be opened for overlapped I/O (a named pipe made with
    /// <c>FILE_FLAG_OVERLAPPED</c>) and not bound to another port: anonymous pipes are synchronous, and .NET
    /// binds <see cref="System.IO.Pipes.PipeOptions.Asynchronous"/> pipe streams to its thread pool, so both are refused.
    /// </para>
    /// </remarks>
    /// <param name="pipeHandle">The read end.</param>
    /// <returns>The reader; dispose it to close the port's duplicate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pipeHandle"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The handle is not a pipe, is synchronous (Windows), or is already associated with a completion port.</exception>
    /// <exception cref="UnauthorizedAccessException">The handle is not open for reading (Linux).</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="pipeHandle"/> is closed, or the port was disposed.</exception>
    public PortPipeReader AssociatePipeReader(SafeHandle pipeHandle)
    {
        ArgumentNullException.ThrowIfNull(pipeHandle);
        (ulong native, ulong key) = Associate(pipeHandle, iocph_handle_kind.IOCPH_HANDLE_PIPE_READ, nameof(pipeHandle));
        return new PortPipeReader(this, native, key);
    }

    /// <summary>Associates the write end of a pipe with this port (see <see cref="AssociatePipeReader(SafeHandle)"/>).</summary>
    /// <param name="pipeHandle">The write end.</param>
    /// <returns>The writer; dispose it to close the port's duplicate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pipeHandle"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The handle is not a pipe, is synchronous (Windows), or is already associated with a completion port.</exception>
    /// <exception cref="UnauthorizedAccessException">The handle is not open for writing (Linux).</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="pipeHandle"/> is closed, or the port was disposed.</exception>
    public PortPipeWriter AssociatePipeWriter(SafeHandle pipeHandle)
    {
        ArgumentNullException.ThrowIfNull(pipeHandle);
        (ulong native, ulong key) = Associate(pipeHandle, iocph_handle_kind.IOCPH_HANDLE_PIPE_WRITE, nameof(pipeHandle));
        return new PortPipeWriter(this, native, key);
    }

    // Holds a reference on the caller's SafeHandle for the call only: the native core duplicates the OS
    // handle before it returns, and the caller's handle is never closed by the port.
    private (ulong Handle, ulong Key) Associate(SafeHandle osHandle, iocph_handle_kind kind, string parameterName)
    {
        ThrowIfDisposed();
        if (osHandle.IsClosed)
        {
            throw new ObjectDisposedException(osHandle.GetType().FullName, $"The {parameterName} handle is closed.");
        }

        ulong key = NextKey();
        ulong handle = 0;
        int rc;
        bool added = false;
        try
        {
            osHandle.DangerousAddRef(ref added);
            long value = (long)osHandle.DangerousGetHandle();
            rc = NativeMethods.iocph_handle_associate(_port, value, (int)kind, key,
                (uint)iocph_associate_flags.IOCPH_ASSOCIATE_DUPLICATE, &handle);
        }
        finally
        {
            if (added)
            {
                osHandle.DangerousRelease();
            }
        }

        if (rc != NativeErrors.Ok)
        {
            throw NativeErrors.CreateAssociateException(rc, parameterName, GetType().FullName);
        }

        return (handle, key);
    }
}
