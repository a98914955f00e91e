namespace IocpHybrid;

/// <summary>
/// A connected one-way pipe created by <see cref="CompletionPort.CreatePipe"/>: bytes written to
/// <see cref="Writer"/> are read from <see cref="Reader"/>. Disposing the pipe disposes both ends.
/// </summary>
public sealed class PortPipe : IDisposable
{
    internal PortPipe(PortPipeReader reader, PortPipeWriter writer)
    {
        Reader = reader;
        Writer = writer;
    }

    /// <summary>The read end.</summary>
    public PortPipeReader Reader { get; }

    /// <summary>The write end. Disposing it makes pending and later reads return 0 (end of stream).</summary>
    public PortPipeWriter Writer { get; }

    /// <summary>Disposes both ends.</summary>
    public void Dispose()
    {
        Writer.Dispose();
        Reader.Dispose();
    }
}
