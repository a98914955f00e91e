using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

/// <summary>One bad input for one public member and the exception it must throw.</summary>
public sealed record BadInputCase(string Member, string Label, Func<BadInputFixture, object?> Invoke, Type Expected)
{
    public string Name => $"{Member} [{Label}]";
}

/// <summary>
/// The bad-input cases of the library's public surface, keyed by member (PublicSurfaceTests.Key), and the
/// members that take no input worth a case, each with the reason. A public member missing from both fails
/// PublicSurfaceTests.
/// </summary>
public static class BadInputTable
{
    private static readonly Type Ane = typeof(ArgumentNullException);
    private static readonly Type Aoore = typeof(ArgumentOutOfRangeException);
    private static readonly Type Ae = typeof(ArgumentException);
    private static readonly Type Ode = typeof(ObjectDisposedException);
    private static readonly Type Oce = typeof(OperationCanceledException);
    private static readonly Type Nse = typeof(NotSupportedException);
    private static readonly Type Uae = typeof(UnauthorizedAccessException);

    private static readonly IPEndPoint Loopback0 = new(IPAddress.Loopback, 0);
    private static readonly CancellationToken Canceled = BadInputFixture.Canceled;

    private const string NoInput = "takes no input: a getter of a value fixed at construction, answers also after disposal";

    public static IReadOnlyList<BadInputCase> Cases { get; } = Build();

    public static IReadOnlyDictionary<string, string> Exempt { get; } = new Dictionary<string, string>
    {
        ["CompletionPort..ctor()"] = "takes no input; what can fail is the environment (no backend, no descriptors): BackendSelectionTests, DescriptorExhaustionTests",
        ["CompletionPort.Dispose()"] = "takes no input; idempotent (ConcurrentDisposeTests)",
        ["CompletionPort.DisposeAsync()"] = "takes no input; idempotent (ConcurrentDisposeTests)",
        ["CompletionPort.get_Backend()"] = NoInput,
        ["CompletionPort.get_BackendName()"] = NoInput,
        ["CompletionPort.get_BackendReason()"] = NoInput,
        ["CompletionPort.get_BackendReasonMessage()"] = NoInput,
        ["CompletionPort.get_InlineCompletions()"] = NoInput,
        ["CompletionPort.get_NativeVersion()"] = "takes no input: a static getter",
        ["CompletionPortOptions..ctor()"] = "takes no input",
        ["CompletionPortOptions.get_Backend()"] = NoInput,
        ["CompletionPortOptions.get_Concurrency()"] = NoInput,
        ["CompletionPortOptions.get_InlineCompletions()"] = NoInput,
        ["CompletionPortOptions.get_MaxBatch()"] = NoInput,
        ["CompletionPortOptions.get_QueueDepth()"] = NoInput,
        ["CompletionPortOptions.get_WorkerThreads()"] = NoInput,
        ["CompletionPortOptions.set_Backend(CompletionPortBackend)"] = "a settings bag: validated where used, by CompletionPort(options), whose cases cover this setting",
        ["CompletionPortOptions.set_Concurrency(Int32)"] = "a settings bag: validated by CompletionPort(options) (cases there)",
        ["CompletionPortOptions.set_InlineCompletions(Boolean)"] = "every value is valid",
        ["CompletionPortOptions.set_MaxBatch(Int32)"] = "a settings bag: validated by CompletionPort(options) (cases there)",
        ["CompletionPortOptions.set_QueueDepth(Int32)"] = "a settings bag: validated by CompletionPort(options) (cases there)",
        ["CompletionPortOptions.set_WorkerThreads(Int32)"] = "a settings bag: validated by CompletionPort(options) (cases there)",
        ["PortFile.get_CanRead()"] = NoInput,
        ["PortFile.get_CanWrite()"] = NoInput,
        ["PortFile.get_Options()"] = NoInput,
        ["PortFile.get_Path()"] = NoInput,
        ["PortFile.ToString()"] = NoInput,
        ["PortHandle.Dispose()"] = "takes no input; idempotent",
        ["PortHandle.get_IsClosed()"] = "takes no input: tells whether the handle was disposed",
        ["PortHandle.get_Port()"] = NoInput,
        ["PortNetworkStream.Flush()"] = "takes no input: a no-op (nothing is buffered), as NetworkStream's, also after disposal",
        ["PortNetworkStream.get_CanRead()"] = "takes no input: false after disposal, as Stream's",
        ["PortNetworkStream.get_CanSeek()"] = NoInput,
        ["PortNetworkStream.get_CanTimeout()"] = NoInput,
        ["PortNetworkStream.get_CanWrite()"] = "takes no input: false after disposal, as Stream's",
        ["PortNetworkStream.get_Connection()"] = NoInput,
        ["PortNetworkStream.get_ReadTimeout()"] = "takes no input: the connection's setting",
        ["PortNetworkStream.get_WriteTimeout()"] = "takes no input: the connection's setting",
        ["PortPipe.Dispose()"] = "takes no input; idempotent",
        ["PortPipe.get_Reader()"] = NoInput,
        ["PortPipe.get_Writer()"] = NoInput,
        ["PortReceiveFromResult.get_ReceivedBytes()"] = "a readonly result struct",
        ["PortReceiveFromResult.get_RemoteEndPoint()"] = "a readonly result struct",
        ["PortReceiveFromResult.get_Truncated()"] = "a readonly result struct",
        ["PortReceiveResult.get_ReceivedBytes()"] = "a readonly result struct",
        ["PortReceiveResult.get_Truncated()"] = "a readonly result struct",
        ["PortStatistics.get_CallbackBatches()"] = "a readonly snapshot struct",
        ["PortStatistics.get_CompletionsDelivered()"] = "a readonly snapshot struct",
        ["PortStatistics.get_HandlesOpen()"] = "a readonly snapshot struct",
        ["PortStatistics.get_OperationsInFlight()"] = "a readonly snapshot struct",
        ["PortStatistics.get_OperationsStarted()"] = "a readonly snapshot struct",
        ["PortStatistics.get_OsWaits()"] = "a readonly snapshot struct",
        ["PortStatistics.get_WorkerThreads()"] = "a readonly snapshot struct",
        ["PortStatistics.set_CallbackBatches(Int64)"] = "an init accessor of a snapshot: every count is a value",
        ["PortStatistics.set_CompletionsDelivered(Int64)"] = "an init accessor of a snapshot: every count is a value",
        ["PortStatistics.set_HandlesOpen(Int64)"] = "an init accessor of a snapshot: every count is a value",
        ["PortStatistics.set_OperationsInFlight(Int64)"] = "an init accessor of a snapshot: every count is a value",
        ["PortStatistics.set_OperationsStarted(Int64)"] = "an init accessor of a snapshot: every count is a value",
        ["PortStatistics.set_OsWaits(Int64)"] = "an init accessor of a snapshot: every count is a value",
        ["PortStatistics.set_WorkerThreads(Int32)"] = "an init accessor of a snapshot: every count is a value",
        ["PortStatistics.ToString()"] = "a readonly snapshot struct",
        ["PortTcpConnection.get_ReceiveTimeout()"] = "takes no input: a setting kept in the object",
        ["PortTcpConnection.get_SendTimeout()"] = "takes no input: a setting kept in the object",
        ["PortTcpListener.get_AcceptTimeout()"] = "takes no input: a setting kept in the object",
        ["PortUdpSocket.get_AddressFamily()"] = NoInput,
        ["PortUdpSocket.get_ReceiveTimeout()"] = "takes no input: a setting kept in the object",
        ["PortUdpSocket.get_SendTimeout()"] = "takes no input: a setting kept in the object",
        ["PortDuplexPipe.Abort(Exception)"] = "every value is valid (null: a default reason); idempotent (PortDuplexPipeTests)",
        ["PortDuplexPipe.DisposeAsync()"] = "takes no input; idempotent",
        ["PortDuplexPipe.get_Completion()"] = NoInput,
        ["PortDuplexPipe.get_Connection()"] = NoInput,
        ["PortDuplexPipe.get_ConnectionClosed()"] = NoInput,
        ["PortDuplexPipe.get_Input()"] = NoInput,
        ["PortDuplexPipe.get_MemoryPool()"] = NoInput,
        ["PortDuplexPipe.get_Output()"] = NoInput,
        ["PortDuplexPipeOptions..ctor()"] = "takes no input",
        ["PortDuplexPipeOptions.get_MaxReadBufferSize()"] = NoInput,
        ["PortDuplexPipeOptions.get_MaxWriteBufferSize()"] = NoInput,
        ["PortDuplexPipeOptions.get_MemoryPool()"] = NoInput,
        ["PortDuplexPipeOptions.get_UnsafePreferInlineScheduling()"] = NoInput,
        ["PortDuplexPipeOptions.get_WaitForDataBeforeAllocatingBuffer()"] = NoInput,
        ["PortDuplexPipeOptions.set_MemoryPool(MemoryPool<Byte>)"] = "every value is valid (null: the library's pinned pool)",
        ["PortDuplexPipeOptions.set_UnsafePreferInlineScheduling(Boolean)"] = "every value is valid",
        ["PortDuplexPipeOptions.set_WaitForDataBeforeAllocatingBuffer(Boolean)"] = "every value is valid",
    };

    /// <summary>An endpoint of no IP family (UnixDomainSocketEndPoint can't even be made under Wine).</summary>
    private sealed class OtherEndPoint : EndPoint
    {
        public override AddressFamily AddressFamily => AddressFamily.Unknown;
    }

    private static List<BadInputCase> Build()
    {
        var list = new List<BadInputCase>();
        void Add(string member, string label, Func<BadInputFixture, object?> invoke, Type expected) =>
            list.Add(new BadInputCase(member, label, invoke, expected));

        // ---- CompletionPort ----
        const string ctor = "CompletionPort..ctor(CompletionPortOptions)";
        Add(ctor, "null", _ => new CompletionPort(null!), Ane);
        Add(ctor, "WorkerThreads -1", _ => new CompletionPort(new CompletionPortOptions { WorkerThreads = -1 }), Aoore);
        Add(ctor, "Concurrency -1", _ => new CompletionPort(new CompletionPortOptions { Concurrency = -1 }), Aoore);
        Add(ctor, "QueueDepth -1", _ => new CompletionPort(new CompletionPortOptions { QueueDepth = -1 }), Aoore);
        Add(ctor, "MaxBatch -1", _ => new CompletionPort(new CompletionPortOptions { MaxBatch = -1 }), Aoore);
        Add(ctor, "MaxBatch over the limit", _ => new CompletionPort(new CompletionPortOptions { MaxBatch = CompletionPortOptions.MaxBatchLimit + 1 }), Aoore);
        Add(ctor, "unknown backend", _ => new CompletionPort(new CompletionPortOptions { Backend = (CompletionPortBackend)99 }), Aoore);
        Add(ctor, "another OS's backend", _ => new CompletionPort(new CompletionPortOptions { Backend = TestSupport.ForeignBackend() }), typeof(PlatformNotSupportedException));

        const string bindUdp = "CompletionPort.BindUdp(IPEndPoint, Boolean, Boolean)";
        Add(bindUdp, "null", f => f.Port.BindUdp(null!), Ane);
        Add(bindUdp, "disposed port", f => f.DeadPort.BindUdp(Loopback0), Ode);
        Add(bindUdp, "dual mode on IPv4", f => f.Port.BindUdp(Loopback0, dualMode: true), Ae);

        const string connectTcp = "CompletionPort.ConnectTcpAsync(EndPoint, CancellationToken)";
        Add(connectTcp, "null", f => f.Port.ConnectTcpAsync(null!), Ane);
        Add(connectTcp, "not an IP endpoint", f => f.Port.ConnectTcpAsync(new OtherEndPoint()), Ae);
        Add(connectTcp, "port 0", f => f.Port.ConnectTcpAsync(Loopback0), Ae);
        Add(connectTcp, "disposed port", f => f.DeadPort.ConnectTcpAsync(f.Listener.LocalEndPoint), Ode);
        Add(connectTcp, "cancelled token", f => f.Port.ConnectTcpAsync(f.Listener.LocalEndPoint, Canceled), Oce);

        Add("CompletionPort.CreatePipe()", "disposed port", f => f.DeadPort.CreatePipe(), Ode);
        Add("CompletionPort.GetStatistics()", "disposed port", f => f.DeadPort.GetStatistics(), Ode);

        const string available = "CompletionPort.IsBackendAvailable(CompletionPortBackend, CompletionPortBackendReason&)";
        Add(available, "unknown backend", _ => CompletionPort.IsBackendAvailable((CompletionPortBackend)99, out CompletionPortBackendReason _), Aoore);
        Add(available, "negative backend", _ => CompletionPort.IsBackendAvailable((CompletionPortBackend)(-1), out CompletionPortBackendReason _), Aoore);

        const string listen = "CompletionPort.ListenTcp(IPEndPoint, Int32, Boolean, Boolean)";
        Add(listen, "null", f => f.Port.ListenTcp(null!), Ane);
        Add(listen, "disposed port", f => f.DeadPort.ListenTcp(Loopback0), Ode);
        Add(listen, "dual mode on IPv4", f => f.Port.ListenTcp(Loopback0, dualMode: true), Ae);
        Add(listen, "address in use", f => f.Port.ListenTcp(f.Listener.LocalEndPoint), typeof(SocketException));

        const string open = "CompletionPort.OpenFile(String, FileMode, FileAccess, PortFileOptions)";
        Add(open, "null path", f => f.Port.OpenFile(null!, FileMode.Open, FileAccess.Read), Ane);
        Add(open, "empty path", f => f.Port.OpenFile("", FileMode.Open, FileAccess.Read), Ae);
        Add(open, "NUL in path", f => f.Port.OpenFile("a\0b", FileMode.Open, FileAccess.Read), Ae);
        Add(open, "unknown mode", f => f.Port.OpenFile(f.FilePath, (FileMode)99, FileAccess.Read), Aoore);
        Add(open, "unknown access", f => f.Port.OpenFile(f.FilePath, FileMode.Open, (FileAccess)0), Aoore);
        Add(open, "unknown options", f => f.Port.OpenFile(f.FilePath, FileMode.Open, FileAccess.Read, (PortFileOptions)0x40000), Aoore);
        Add(open, "append with read", f => f.Port.OpenFile(f.FilePath, FileMode.Append, FileAccess.ReadWrite), Ae);
        Add(open, "create without write", f => f.Port.OpenFile(f.FilePath, FileMode.Create, FileAccess.Read), Ae);
        Add(open, "missing file", f => f.Port.OpenFile(Path.Combine(f.Directory, "missing"), FileMode.Open, FileAccess.Read), typeof(FileNotFoundException));
        Add(open, "missing directory", f => f.Port.OpenFile(Path.Combine(f.Directory, "no", "file"), FileMode.Open, FileAccess.Read), typeof(DirectoryNotFoundException));
        Add(open, "a directory", f => f.Port.OpenFile(f.Directory, FileMode.Open, FileAccess.Read), Uae);
        Add(open, "CreateNew on an existing file", f => f.Port.OpenFile(f.FilePath, FileMode.CreateNew, FileAccess.Write), typeof(IOException));
        Add(open, "disposed port", f => f.DeadPort.OpenFile(f.FilePath, FileMode.Open, FileAccess.Read), Ode);

        const string post = "CompletionPort.PostAsync(UInt64, Int64, CancellationToken)";
        Add(post, "disposed port", f => f.DeadPort.PostAsync(1, 1), Ode);
        Add(post, "cancelled token", f => f.Port.PostAsync(1, 1, Canceled), Oce);

        // ---- PortFile ----
        const string aligned = "PortFile.AllocateAlignedBuffer(Int32)";
        Add(aligned, "zero", _ => PortFile.AllocateAlignedBuffer(0), Aoore);
        Add(aligned, "negative", _ => PortFile.AllocateAlignedBuffer(-1), Aoore);
        Add(aligned, "not a multiple of the alignment", _ => PortFile.AllocateAlignedBuffer(100), Aoore);

        Add("PortFile.FlushAsync(CancellationToken)", "disposed file", f => f.DeadFile.FlushAsync(), Ode);
        Add("PortFile.FlushAsync(CancellationToken)", "cancelled token", f => f.File.FlushAsync(Canceled), Oce);
        Add("PortFile.get_Length()", "disposed file", f => f.DeadFile.Length, Ode);

        const string readMem = "PortFile.ReadAsync(Memory<Byte>, Int64, CancellationToken)";
        Add(readMem, "negative offset", f => f.File.ReadAsync(new byte[4], -1), Aoore);
        Add(readMem, "disposed file", f => f.DeadFile.ReadAsync(new byte[4], 0), Ode);
        Add(readMem, "not opened for reading", f => f.WriteOnlyFile.ReadAsync(new byte[4], 0), Uae);
        Add(readMem, "cancelled token", f => f.File.ReadAsync(new byte[4], 0, Canceled), Oce);

        const string readArr = "PortFile.ReadAsync(Byte[], Int32, Int32, Int64, CancellationToken)";
        Add(readArr, "null", f => f.File.ReadAsync(null!, 0, 1, 0), Ane);
        Add(readArr, "negative offset", f => f.File.ReadAsync(new byte[4], -1, 1, 0), Aoore);
        Add(readArr, "count past the end", f => f.File.ReadAsync(new byte[4], 2, 3, 0), Aoore);
        Add(readArr, "negative file offset", f => f.File.ReadAsync(new byte[4], 0, 4, -1), Aoore);
        Add(readArr, "disposed file", f => f.DeadFile.ReadAsync(new byte[4], 0, 4, 0), Ode);
        Add(readArr, "not opened for reading", f => f.WriteOnlyFile.ReadAsync(new byte[4], 0, 4, 0), Uae);

        const string writeMem = "PortFile.WriteAsync(ReadOnlyMemory<Byte>, Int64, CancellationToken)";
        Add(writeMem, "negative offset", f => f.File.WriteAsync(new byte[4], -1), Aoore);
        Add(writeMem, "disposed file", f => f.DeadFile.WriteAsync(new byte[4], 0), Ode);
        Add(writeMem, "not opened for writing", f => f.ReadOnlyFile.WriteAsync(new byte[4], 0), Uae);
        Add(writeMem, "cancelled token", f => f.File.WriteAsync(new byte[4], 0, Canceled), Oce);

        const string writeArr = "PortFile.WriteAsync(Byte[], Int32, Int32, Int64, CancellationToken)";
        Add(writeArr, "null", f => f.File.WriteAsync(null!, 0, 1, 0), Ane);
        Add(writeArr, "negative count", f => f.File.WriteAsync(new byte[4], 0, -1, 0), Aoore);
        Add(writeArr, "offset past the end", f => f.File.WriteAsync(new byte[4], 5, 0, 0), Aoore);
        Add(writeArr, "negative file offset", f => f.File.WriteAsync(new byte[4], 0, 4, -1), Aoore);
        Add(writeArr, "disposed file", f => f.DeadFile.WriteAsync(new byte[4], 0, 4, 0), Ode);
        Add(writeArr, "not opened for writing", f => f.ReadOnlyFile.WriteAsync(new byte[4], 0, 4, 0), Uae);

        Add("PortHandle.CancelPendingOperations()", "disposed handle", f => { f.DeadFile.CancelPendingOperations(); return null; }, Ode);

        // ---- PortNetworkStream ----
        Add("PortNetworkStream..ctor(PortTcpConnection, Boolean)", "null", _ => new PortNetworkStream(null!), Ane);
        Add("PortNetworkStream.FlushAsync(CancellationToken)", "cancelled token", f => f.Stream.FlushAsync(Canceled), typeof(TaskCanceledException));
        Add("PortNetworkStream.get_Length()", "not seekable", f => f.Stream.Length, Nse);
        Add("PortNetworkStream.get_Position()", "not seekable", f => f.Stream.Position, Nse);
        Add("PortNetworkStream.set_Position(Int64)", "not seekable", f => f.Stream.Position = 0, Nse);
        Add("PortNetworkStream.Seek(Int64, SeekOrigin)", "not seekable", f => f.Stream.Seek(0, SeekOrigin.Begin), Nse);
        Add("PortNetworkStream.SetLength(Int64)", "not seekable", f => { f.Stream.SetLength(0); return null; }, Nse);
        Add("PortNetworkStream.set_ReadTimeout(Int32)", "below -1", f => f.Stream.ReadTimeout = -2, Aoore);
        Add("PortNetworkStream.set_WriteTimeout(Int32)", "below -1", f => f.Stream.WriteTimeout = -2, Aoore);

        const string sRead = "PortNetworkStream.Read(Byte[], Int32, Int32)";
        Add(sRead, "null", f => f.Stream.Read(null!, 0, 1), Ane);
        Add(sRead, "range outside the array", f => f.Stream.Read(new byte[4], 3, 2), Aoore);
        Add(sRead, "disposed stream", f => f.DeadStream.Read(new byte[4], 0, 4), Ode);
        const string sWrite = "PortNetworkStream.Write(Byte[], Int32, Int32)";
        Add(sWrite, "null", f => { f.Stream.Write(null!, 0, 1); return null; }, Ane);
        Add(sWrite, "range outside the array", f => { f.Stream.Write(new byte[4], -1, 2); return null; }, Aoore);
        Add(sWrite, "disposed stream", f => { f.DeadStream.Write(new byte[4], 0, 4); return null; }, Ode);
        const string sReadMem = "PortNetworkStream.ReadAsync(Memory<Byte>, CancellationToken)";
        Add(sReadMem, "disposed stream", f => f.DeadStream.ReadAsync(new byte[4].AsMemory()), Ode);
        Add(sReadMem, "cancelled token", f => f.Stream.ReadAsync(new byte[4].AsMemory(), Canceled), Oce);
        const string sReadArr = "PortNetworkStream.ReadAsync(Byte[], Int32, Int32, CancellationToken)";
        Add(sReadArr, "null", f => f.Stream.ReadAsync(null!, 0, 1, default), Ane);
        Add(sReadArr, "range outside the array", f => f.Stream.ReadAsync(new byte[4], 0, 5, default), Aoore);
        Add(sReadArr, "disposed stream", f => f.DeadStream.ReadAsync(new byte[4], 0, 4, default), Ode);
        const string sWriteMem = "PortNetworkStream.WriteAsync(ReadOnlyMemory<Byte>, CancellationToken)";
        Add(sWriteMem, "disposed stream", f => f.DeadStream.WriteAsync(new byte[4].AsMemory()), Ode);
        Add(sWriteMem, "cancelled token", f => f.Stream.WriteAsync(new byte[4].AsMemory(), Canceled), Oce);
        const string sWriteArr = "PortNetworkStream.WriteAsync(Byte[], Int32, Int32, CancellationToken)";
        Add(sWriteArr, "null", f => f.Stream.WriteAsync(null!, 0, 1, default), Ane);
        Add(sWriteArr, "range outside the array", f => f.Stream.WriteAsync(new byte[4], 4, 1, default), Aoore);
        Add(sWriteArr, "disposed stream", f => f.DeadStream.WriteAsync(new byte[4], 0, 4, default), Ode);

        // ---- pipes ----
        const string pRead = "PortPipeReader.ReadAsync(Memory<Byte>, CancellationToken)";
        Add(pRead, "disposed reader", f => f.DeadPipe.Reader.ReadAsync(new byte[4]), Ode);
        Add(pRead, "cancelled token", f => f.Pipe.Reader.ReadAsync(new byte[4], Canceled), Oce);
        const string pReadArr = "PortPipeReader.ReadAsync(Byte[], Int32, Int32, CancellationToken)";
        Add(pReadArr, "null", f => f.Pipe.Reader.ReadAsync(null!, 0, 1), Ane);
        Add(pReadArr, "range outside the array", f => f.Pipe.Reader.ReadAsync(new byte[4], 1, 4), Aoore);
        Add(pReadArr, "disposed reader", f => f.DeadPipe.Reader.ReadAsync(new byte[4], 0, 4), Ode);
        const string pWrite = "PortPipeWriter.WriteAsync(ReadOnlyMemory<Byte>, CancellationToken)";
        Add(pWrite, "disposed writer", f => f.DeadPipe.Writer.WriteAsync(new byte[4]), Ode);
        Add(pWrite, "cancelled token", f => f.Pipe.Writer.WriteAsync(new byte[4], Canceled), Oce);
        const string pWriteArr = "PortPipeWriter.WriteAsync(Byte[], Int32, Int32, CancellationToken)";
        Add(pWriteArr, "null", f => f.Pipe.Writer.WriteAsync(null!, 0, 1), Ane);
        Add(pWriteArr, "range outside the array", f => f.Pipe.Writer.WriteAsync(new byte[4], -1, 1), Aoore);
        Add(pWriteArr, "disposed writer", f => f.DeadPipe.Writer.WriteAsync(new byte[4], 0, 4), Ode);

        // ---- sockets ----
        Add("PortSocket.get_LocalEndPoint()", "disposed socket", f => f.DeadUdp.LocalEndPoint, Ode);

        const string connect = "PortTcpConnection.ConnectAsync(CompletionPort, EndPoint, CancellationToken)";
        Add(connect, "null port", f => PortTcpConnection.ConnectAsync(null!, f.Listener.LocalEndPoint), Ane);
        Add(connect, "null endpoint", f => PortTcpConnection.ConnectAsync(f.Port, null!), Ane);
        Add(connect, "not an IP or DNS endpoint", f => PortTcpConnection.ConnectAsync(f.Port, new OtherEndPoint()), Ae);
        Add(connect, "port 0", f => PortTcpConnection.ConnectAsync(f.Port, Loopback0), Ae);
        Add(connect, "disposed port", f => PortTcpConnection.ConnectAsync(f.DeadPort, f.Listener.LocalEndPoint), Ode);
        Add(connect, "cancelled token", f => PortTcpConnection.ConnectAsync(f.Port, f.Listener.LocalEndPoint, Canceled), Oce);
        const string connectT = "PortTcpConnection.ConnectAsync(CompletionPort, EndPoint, TimeSpan, CancellationToken)";
        Add(connectT, "negative timeout", f => PortTcpConnection.ConnectAsync(f.Port, f.Listener.LocalEndPoint, TimeSpan.FromSeconds(-5)), Aoore);
        Add(connectT, "timeout too large", f => PortTcpConnection.ConnectAsync(f.Port, f.Listener.LocalEndPoint, TimeSpan.FromDays(30)), Aoore);
        Add(connectT, "null port", f => PortTcpConnection.ConnectAsync(null!, f.Listener.LocalEndPoint, TimeSpan.FromSeconds(5)), Ane);
        Add(connectT, "disposed port", f => PortTcpConnection.ConnectAsync(f.DeadPort, f.Listener.LocalEndPoint, TimeSpan.FromSeconds(5)), Ode);

        Add("PortTcpConnection.get_KeepAlive()", "disposed connection", f => f.DeadConnection.KeepAlive, Ode);
        Add("PortTcpConnection.get_NoDelay()", "disposed connection", f => f.DeadConnection.NoDelay, Ode);
        Add("PortTcpConnection.get_LingerState()", "disposed connection", f => f.DeadConnection.LingerState, Ode);
        Add("PortTcpConnection.get_ReceiveBufferSize()", "disposed connection", f => f.DeadConnection.ReceiveBufferSize, Ode);
        Add("PortTcpConnection.get_SendBufferSize()", "disposed connection", f => f.DeadConnection.SendBufferSize, Ode);
        Add("PortTcpConnection.get_RemoteEndPoint()", "disposed connection", f => f.DeadConnection.RemoteEndPoint, Ode);
        Add("PortTcpConnection.set_KeepAlive(Boolean)", "disposed connection", f => f.DeadConnection.KeepAlive = true, Ode);
        Add("PortTcpConnection.set_NoDelay(Boolean)", "disposed connection", f => f.DeadConnection.NoDelay = true, Ode);
        const string linger = "PortTcpConnection.set_LingerState(LingerOption)";
        Add(linger, "null", f => f.Client.LingerState = null!, Ane);
        Add(linger, "negative time", f => f.Client.LingerState = new LingerOption(true, -1), Aoore);
        Add(linger, "time too large", f => f.Client.LingerState = new LingerOption(true, 70000), Aoore);
        Add(linger, "disposed connection", f => f.DeadConnection.LingerState = new LingerOption(false, 0), Ode);
        Add("PortTcpConnection.set_ReceiveBufferSize(Int32)", "zero", f => f.Client.ReceiveBufferSize = 0, Aoore);
        Add("PortTcpConnection.set_ReceiveBufferSize(Int32)", "disposed connection", f => f.DeadConnection.ReceiveBufferSize = 4096, Ode);
        Add("PortTcpConnection.set_SendBufferSize(Int32)", "negative", f => f.Client.SendBufferSize = -1, Aoore);
        Add("PortTcpConnection.set_SendBufferSize(Int32)", "disposed connection", f => f.DeadConnection.SendBufferSize = 4096, Ode);
        Add("PortTcpConnection.set_ReceiveTimeout(Int32)", "below -1", f => f.Client.ReceiveTimeout = -2, Aoore);
        Add("PortTcpConnection.set_SendTimeout(Int32)", "below -1", f => f.Client.SendTimeout = -2, Aoore);
        Add("PortTcpConnection.GetStream()", "disposed connection", f => f.DeadConnection.GetStream(), Ode);

        const string recvMem = "PortTcpConnection.ReceiveAsync(Memory<Byte>, CancellationToken)";
        Add(recvMem, "disposed connection", f => f.DeadConnection.ReceiveAsync(new byte[4].AsMemory()), Ode);
        Add(recvMem, "cancelled token", f => f.Client.ReceiveAsync(new byte[4].AsMemory(), Canceled), Oce);
        const string recvArr = "PortTcpConnection.ReceiveAsync(Byte[], CancellationToken)";
        Add(recvArr, "null", f => f.Client.ReceiveAsync((byte[])null!), Ane);
        Add(recvArr, "disposed connection", f => f.DeadConnection.ReceiveAsync(new byte[4]), Ode);
        const string recvRange = "PortTcpConnection.ReceiveAsync(Byte[], Int32, Int32, CancellationToken)";
        Add(recvRange, "null", f => f.Client.ReceiveAsync(null!, 0, 1), Ane);
        Add(recvRange, "range outside the array", f => f.Client.ReceiveAsync(new byte[4], 2, 3), Aoore);
        Add(recvRange, "disposed connection", f => f.DeadConnection.ReceiveAsync(new byte[4], 0, 4), Ode);
        const string sendMem = "PortTcpConnection.SendAsync(ReadOnlyMemory<Byte>, CancellationToken)";
        Add(sendMem, "disposed connection", f => f.DeadConnection.SendAsync(new byte[4].AsMemory()), Ode);
        Add(sendMem, "cancelled token", f => f.Client.SendAsync(new byte[4].AsMemory(), Canceled), Oce);
        const string sendArr = "PortTcpConnection.SendAsync(Byte[], CancellationToken)";
        Add(sendArr, "null", f => f.Client.SendAsync((byte[])null!), Ane);
        Add(sendArr, "disposed connection", f => f.DeadConnection.SendAsync(new byte[4]), Ode);
        const string sendRange = "PortTcpConnection.SendAsync(Byte[], Int32, Int32, CancellationToken)";
        Add(sendRange, "null", f => f.Client.SendAsync(null!, 0, 1), Ane);
        Add(sendRange, "range outside the array", f => f.Client.SendAsync(new byte[4], 0, 5), Aoore);
        Add(sendRange, "disposed connection", f => f.DeadConnection.SendAsync(new byte[4], 0, 4), Ode);
        const string sendSeq = "PortTcpConnection.SendAsync(ReadOnlySequence<Byte>, CancellationToken)";
        Add(sendSeq, "disposed connection", f => f.DeadConnection.SendAsync(new ReadOnlySequence<byte>(new byte[4])), Ode);
        Add(sendSeq, "cancelled token", f => f.Client.SendAsync(new ReadOnlySequence<byte>(new byte[4]), Canceled), Oce);
        const string sendList = "PortTcpConnection.SendAsync(IList<ArraySegment<Byte>>, CancellationToken)";
        Add(sendList, "null", f => f.Client.SendAsync((IList<ArraySegment<byte>>)null!), Ane);
        Add(sendList, "segment without an array", f => f.Client.SendAsync(new[] { default(ArraySegment<byte>) }), Ae);
        Add(sendList, "disposed connection", f => f.DeadConnection.SendAsync(new[] { new ArraySegment<byte>(new byte[4]) }), Ode);
        const string shutdown = "PortTcpConnection.Shutdown(SocketShutdown)";
        Add(shutdown, "Receive (unsupported)", f => { f.Client.Shutdown(SocketShutdown.Receive); return null; }, Aoore);
        Add(shutdown, "unknown value", f => { f.Client.Shutdown((SocketShutdown)99); return null; }, Aoore);
        Add(shutdown, "disposed connection", f => { f.DeadConnection.Shutdown(SocketShutdown.Send); return null; }, Ode);

        Add("PortTcpListener.AcceptAsync(CancellationToken)", "disposed listener", f => f.DeadListener.AcceptAsync(), Ode);
        Add("PortTcpListener.AcceptAsync(CancellationToken)", "cancelled token", f => f.Listener.AcceptAsync(Canceled), Oce);
        Add("PortTcpListener.set_AcceptTimeout(Int32)", "below -1", f => f.Listener.AcceptTimeout = -2, Aoore);

        Add("PortUdpSocket.set_ReceiveTimeout(Int32)", "below -1", f => f.Udp.ReceiveTimeout = -2, Aoore);
        Add("PortUdpSocket.set_SendTimeout(Int32)", "below -1", f => f.Udp.SendTimeout = -2, Aoore);
        const string rf = "PortUdpSocket.ReceiveFromAsync(Memory<Byte>, CancellationToken)";
        Add(rf, "empty buffer", f => f.Udp.ReceiveFromAsync(Memory<byte>.Empty), Ae);
        Add(rf, "disposed socket", f => f.DeadUdp.ReceiveFromAsync(new byte[4]), Ode);
        Add(rf, "cancelled token", f => f.Udp.ReceiveFromAsync(new byte[4], Canceled), Oce);
        const string rfa = "PortUdpSocket.ReceiveFromAsync(Memory<Byte>, SocketAddress, CancellationToken)";
        Add(rfa, "null address", f => f.Udp.ReceiveFromAsync(new byte[4], null!), Ane);
        Add(rfa, "address of another family", f => f.Udp.ReceiveFromAsync(new byte[4], new SocketAddress(AddressFamily.Unix, 64)), Ae);
        Add(rfa, "empty buffer", f => f.Udp.ReceiveFromAsync(Memory<byte>.Empty, new SocketAddress(AddressFamily.InterNetwork)), Ae);
        Add(rfa, "disposed socket", f => f.DeadUdp.ReceiveFromAsync(new byte[4], new SocketAddress(AddressFamily.InterNetwork)), Ode);
        const string st = "PortUdpSocket.SendToAsync(ReadOnlyMemory<Byte>, EndPoint, CancellationToken)";
        Add(st, "null endpoint", f => f.Udp.SendToAsync(new byte[4], (EndPoint)null!), Ane);
        Add(st, "not an IP endpoint", f => f.Udp.SendToAsync(new byte[4], new DnsEndPoint("localhost", 9)), Ae);
        Add(st, "port 0", f => f.Udp.SendToAsync(new byte[4], Loopback0), Ae);
        Add(st, "IPv6 endpoint on an IPv4 socket", f => f.Udp.SendToAsync(new byte[4], new IPEndPoint(IPAddress.IPv6Loopback, 9)), Ae);
        Add(st, "disposed socket", f => f.DeadUdp.SendToAsync(new byte[4], f.Udp.LocalEndPoint), Ode);
        Add(st, "cancelled token", f => f.Udp.SendToAsync(new byte[4], f.Udp.LocalEndPoint, Canceled), Oce);
        const string sta = "PortUdpSocket.SendToAsync(ReadOnlyMemory<Byte>, SocketAddress, CancellationToken)";
        Add(sta, "null address", f => f.Udp.SendToAsync(new byte[4], (SocketAddress)null!), Ane);
        Add(sta, "address of another family", f => f.Udp.SendToAsync(new byte[4], new SocketAddress(AddressFamily.Unix, 64)), Ae);
        Add(sta, "disposed socket", f => f.DeadUdp.SendToAsync(new byte[4], f.Udp.LocalEndPoint.Serialize()), Ode);
        // ---- PortDuplexPipe ----
        const string pipeCtor = "PortDuplexPipe..ctor(PortTcpConnection, PortDuplexPipeOptions)";
        Add(pipeCtor, "null", _ => new PortDuplexPipe(null!), Ane);
        Add(pipeCtor, "disposed connection", f => new PortDuplexPipe(f.DeadConnection), Ode);
        Add("PortDuplexPipeOptions.set_MaxReadBufferSize(Int64)", "negative", _ => new PortDuplexPipeOptions { MaxReadBufferSize = -1 }, Aoore);
        Add("PortDuplexPipeOptions.set_MaxWriteBufferSize(Int64)", "negative", _ => new PortDuplexPipeOptions { MaxWriteBufferSize = -1 }, Aoore);

        // ---- Associating what the user has (AssociateTests covers real handles) ----
        const string assocFile = "CompletionPort.AssociateFile(SafeFileHandle, FileAccess)";
        Add(assocFile, "null", f => f.Port.AssociateFile(null!), Ane);
        Add(assocFile, "access out of range", f => f.Port.AssociateFile(File.OpenHandle(f.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), (FileAccess)0), Aoore);
        const string assocConnection = "CompletionPort.AssociateTcpConnection(Socket)";
        Add(assocConnection, "null", f => f.Port.AssociateTcpConnection(null!), Ane);
        Add(assocConnection, "a UDP socket", f => f.Port.AssociateTcpConnection(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)), Ae);
        const string assocListener = "CompletionPort.AssociateTcpListener(Socket)";
        Add(assocListener, "null", f => f.Port.AssociateTcpListener(null!), Ane);
        Add(assocListener, "not listening", f => f.Port.AssociateTcpListener(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)), Ae);
        const string assocUdp = "CompletionPort.AssociateUdp(Socket)";
        Add(assocUdp, "null", f => f.Port.AssociateUdp(null!), Ane);
        Add(assocUdp, "a TCP socket", f => f.Port.AssociateUdp(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)), Ae);
        Add("CompletionPort.AssociatePipeReader(SafeHandle)", "null", f => f.Port.AssociatePipeReader(null!), Ane);
        Add("CompletionPort.AssociatePipeWriter(SafeHandle)", "null", f => f.Port.AssociatePipeWriter(null!), Ane);

        return list;
    }
}
