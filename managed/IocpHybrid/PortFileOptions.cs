namespace IocpHybrid;

/// <summary>Options for <see cref="CompletionPort.OpenFile"/>.</summary>
[Flags]
public enum PortFileOptions
{
    /// <summary>Buffered I/O through the operating system's cache.</summary>
    None = 0,

    /// <summary>
    /// Unbuffered I/O (<c>O_DIRECT</c> / <c>FILE_FLAG_NO_BUFFERING</c>): the buffer address, the length
    /// and the file offset of every read and write must be multiples of
    /// <see cref="PortFile.UnbufferedAlignment"/>; <see cref="PortFile.AllocateAlignedBuffer"/> gives
    /// suitable buffers. A read at the end of the file may still return fewer bytes.
    /// </summary>
    Unbuffered = 1,
}
