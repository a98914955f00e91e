using System.Runtime.InteropServices;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>Turns native <c>IOCPH_E_*</c> status codes into the exceptions BCL users already catch.</summary>
internal static unsafe partial class NativeErrors
{
    internal const int Ok = (int)iocph_status.IOCPH_OK;
    internal const int Unknown = (int)iocph_status.IOCPH_E_UNKNOWN;
    internal const int InvalidArgument = (int)iocph_status.IOCPH_E_INVALID_ARGUMENT;
    internal const int BadHandle = (int)iocph_status.IOCPH_E_BADHANDLE;
    internal const int NoMemory = (int)iocph_status.IOCPH_E_NOMEM;
    internal const int Timeout = (int)iocph_status.IOCPH_E_TIMEOUT;
    internal const int Canceled = (int)iocph_status.IOCPH_E_CANCELED;
    internal const int Shutdown = (int)iocph_status.IOCPH_E_SHUTDOWN;

    /// <summary>An immediate attempt (iocph_*_try_*) would have had to wait; never surfaces to callers.</summary>
    internal const int WouldBlock = (int)iocph_status.IOCPH_E_WOULD_BLOCK;
    internal const int FileNotFound = (int)iocph_status.IOCPH_E_FILE_NOT_FOUND;
    internal const int PathNotFound = (int)iocph_status.IOCPH_E_PATH_NOT_FOUND;
    internal const int AccessDenied = (int)iocph_status.IOCPH_E_ACCESS_DENIED;
    internal const int FileExists = (int)iocph_status.IOCPH_E_FILE_EXISTS;
    internal const int Alignment = (int)iocph_status.IOCPH_E_ALIGNMENT;
    internal const int Unsupported = (int)iocph_status.IOCPH_E_UNSUPPORTED;
    internal const int WrongMode = (int)iocph_status.IOCPH_E_WRONG_MODE;
    internal const int BrokenPipe = (int)iocph_status.IOCPH_E_BROKEN_PIPE;
    internal const int DiskFull = (int)iocph_status.IOCPH_E_DISK_FULL;
    internal const int IoError = (int)iocph_status.IOCPH_E_IO;
    internal const int TooManyHandles = (int)iocph_status.IOCPH_E_TOO_MANY_HANDLES;
    internal const int NotPending = (int)iocph_status.IOCPH_E_NOTPENDING;
    internal const int WrongThread = (int)iocph_status.IOCPH_E_WRONGTHREAD;
    internal const int IsDirectory = (int)iocph_status.IOCPH_E_IS_DIRECTORY;
    internal const int WrongKind = (int)iocph_status.IOCPH_E_WRONG_KIND;
    internal const int AlreadyAssociated = (int)iocph_status.IOCPH_E_ALREADY_ASSOCIATED;
    internal const int NotOverlapped = (int)iocph_status.IOCPH_E_NOT_OVERLAPPED;

    // HRESULT_FROM_WIN32 values the BCL uses for the same conditions on Windows.
    private const int HResultFileExists = unchecked((int)0x80070050);
    private const int HResultBrokenPipe = unchecked((int)0x8007006D);
    private const int HResultDiskFull = unchecked((int)0x80070070);
    private const int HResultOutOfMemory = unchecked((int)0x8007000E);
    private const int HResultTooManyOpenFiles = unchecked((int)0x80070004);

    /// <summary>The native core's message for a status code.</summary>
    internal static string Message(int status)
    {
        sbyte* text = NativeMethods.iocph_status_message(status);
        return text is null ? $"status {status}" : new string(text);
    }

    /// <summary>
    /// The exception for a failed native call or completion.
    /// </summary>
    /// <param name="status">A negative <c>IOCPH_E_*</c> code.</param>
    /// <param name="osError">The raw errno / Win32 error behind it (0 when unknown).</param>
    /// <param name="path">The file the operation concerns, for messages and <see cref="FileNotFoundException.FileName"/>.</param>
    /// <param name="disposedObjectName">Used for <see cref="ObjectDisposedException"/> on a stale handle.</param>
    internal static Exception CreateException(int status, int osError = 0, string? path = null, string? disposedObjectName = null)
    {
        string message = Describe(status, osError, path);
        switch (status)
        {
            case InvalidArgument:
            case Alignment:
                return new ArgumentException(message);
            case BadHandle:
                return new ObjectDisposedException(disposedObjectName ?? "handle", message);
            case Shutdown:
                return new ObjectDisposedException(typeof(CompletionPort).FullName, message);
            case NoMemory:
                return new IOException(message, HResultOutOfMemory);
            case Timeout:
                return new TimeoutException(message);
            case Canceled:
                return new OperationCanceledException(message);
            case FileNotFound:
                return new FileNotFoundException(message, path);
            case PathNotFound:
                return new DirectoryNotFoundException(message);
            case AccessDenied:
            case IsDirectory:
                return new UnauthorizedAccessException(message);
            case FileExists:
                return new IOException(message, HResultFor(osError, HResultFileExists));
            case Unsupported:
                return new PlatformNotSupportedException(message);
            case WrongMode:
            case WrongThread:
                return new InvalidOperationException(message);
            case BrokenPipe:
                return new IOException(message, HResultFor(osError, HResultBrokenPipe));
            case DiskFull:
                return new IOException(message, HResultFor(osError, HResultDiskFull));
            case TooManyHandles:
                return new IOException(message, HResultFor(osError, HResultTooManyOpenFiles));
            case NotPending:
                return new InvalidOperationException(message);
            default:
                // IOCPH_E_IO, IOCPH_E_UNKNOWN and anything newer than this binding.
                return new IOException(message, HResultFor(osError, 0));
        }
    }

    /// <summary>
    /// The exception for a refused iocph_handle_associate: what is wrong with the caller's handle is an
    /// <see cref="ArgumentException"/> naming it (as <c>ThreadPoolBoundHandle.BindHandle</c> does for a handle
    /// already bound or not opened for asynchronous I/O); a port shut down is <see cref="ObjectDisposedException"/>.
    /// </summary>
    internal static Exception CreateAssociateException(int status, string parameterName, string? portName)
    {
        switch (status)
        {
            case WrongKind:
            case AlreadyAssociated:
            case NotOverlapped:
            case NotConnected:
            case BadHandle: // the port is checked first: here it is the OS handle that is not open
                return new ArgumentException(Message(status), parameterName);
            case Shutdown:
                return new ObjectDisposedException(portName, Message(status));
            default:
                return CreateException(status);
        }
    }

    /// <summary>The HResult the BCL would use: HRESULT_FROM_WIN32 on Windows, the raw errno elsewhere.</summary>
    private static int HResultFor(int osError, int fallback)
    {
        if (osError == 0)
        {
            return fallback;
        }

        return OperatingSystem.IsWindows() && osError > 0 ? unchecked((int)(0x80070000u | ((uint)osError & 0xFFFF))) : osError;
    }

    internal static string Describe(int status, int osError, string? path)
    {
        string text = Message(status);
        if (path is not null)
        {
            text = $"{text}: '{path}'";
        }

        if (osError != 0)
        {
            text = $"{text} (OS error {osError}: {Marshal.GetPInvokeErrorMessage(osError)})";
        }

        return text;
    }
}
