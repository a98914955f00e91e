namespace IocpHybrid.Demo;

/// <summary>The demo's command line.</summary>
internal sealed class DemoOptions
{
    public string Source { get; private set; } = "";
    public string Destination { get; private set; } = "";
    public long SizeBytes { get; private set; } = 256L * 1024 * 1024;
    public int BlockBytes { get; private set; } = 1024 * 1024;
    public int Depth { get; private set; } = 32;
    public bool Unbuffered { get; private set; }
    public bool KeepCopy { get; private set; }
    public CompletionPortBackend Backend { get; private set; }
    public bool ShowHelp { get; private set; }
    public bool SkipCopy { get; private set; }
    public bool SkipEcho { get; private set; }
    public int EchoClients { get; private set; } = 200;
    public int EchoRounds { get; private set; } = 3;
    public System.Net.IPEndPoint? EchoServer { get; private set; }
    public Uri? WebServer { get; private set; }
    public int WebConnections { get; private set; } = 64;
    public int WebRequests { get; private set; } = 20_000;

    public const string Usage = """
        IocpHybrid demo: copies a file through a completion port with many reads and writes in flight,
        then verifies the copy by XxHash128; then runs a few hundred TCP echo clients on loopback that
        verify every message of many sizes.

        usage: IocpHybrid.Demo [source] [options]
          source               the file to copy (default: artifacts/demo/source.bin under the repository);
                               created with random data when it does not exist
          --dest PATH          where the copy goes (default: beside the source, <name>.copy)
          --size-mib N         size of a created source file (default 256)
          --block-kib N        bytes per read and write (default 1024)
          --depth N            copy lanes, each with one read or write in flight (default 32)
          --unbuffered         O_DIRECT / FILE_FLAG_NO_BUFFERING (block size must be a multiple of 4 KiB)
          --backend NAME       iocp, io_uring or epoll (default: the best that runs here)
          --keep               keep the copy (it is deleted after a successful verification otherwise)
          --echo-clients N     concurrent echo clients (default 200)
          --echo-rounds N      rounds of messages (1 B .. 256 KiB) per client (default 3)
          --echo-server EP     an external echo server (e.g. 127.0.0.1:7000); default: one in-process
          --skip-copy          no file copy
          --skip-echo          no echo run
          --web-server URL     then an HttpClient load against the sample web app at URL
                               (managed/samples/WebApp, e.g. http://127.0.0.1:5000): GET /plaintext,
                               GET /json and POST /echo (1 B .. 64 KiB bodies), every response verified
          --web-connections N  keep-alive connections of that load (default 64)
          --web-requests N     requests of that load (default 20000)
        exit code: 0 everything verified, 1 a copy, an echo or a web response differs, 2 error
        """;

    public static DemoOptions Parse(string[] args)
    {
        var options = new DemoOptions();
        string? source = null;
        string? destination = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "-h" or "--help" or "-?":
                    options.ShowHelp = true;
                    break;
                case "--dest":
                    destination = Value();
                    break;
                case "--size-mib":
                    options.SizeBytes = checked(PositiveInt(arg, Value()) * 1024L * 1024L);
                    break;
                case "--block-kib":
                    options.BlockBytes = checked(PositiveInt(arg, Value()) * 1024);
                    break;
                case "--depth":
                    options.Depth = PositiveInt(arg, Value());
                    break;
                case "--unbuffered":
                    options.Unbuffered = true;
                    break;
                case "--keep":
                    options.KeepCopy = true;
                    break;
                case "--echo-clients":
                    options.EchoClients = PositiveInt(arg, Value());
                    break;
                case "--echo-rounds":
                    options.EchoRounds = PositiveInt(arg, Value());
                    break;
                case "--echo-server":
                    string endpoint = Value();
                    options.EchoServer = System.Net.IPEndPoint.TryParse(endpoint, out System.Net.IPEndPoint? parsed) && parsed.Port != 0
                        ? parsed
                        : throw new ArgumentException($"--echo-server needs ADDRESS:PORT, not '{endpoint}'.");
                    break;
                case "--web-server":
                    string url = Value();
                    options.WebServer = Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https"
                        ? uri
                        : throw new ArgumentException($"--web-server needs an http:// or https:// URL, not '{url}'.");
                    break;
                case "--web-connections":
                    options.WebConnections = PositiveInt(arg, Value());
                    break;
                case "--web-requests":
                    options.WebRequests = PositiveInt(arg, Value());
                    break;
                case "--skip-copy":
                    options.SkipCopy = true;
                    break;
                case "--skip-echo":
                    options.SkipEcho = true;
                    break;
                case "--backend":
                    options.Backend = Value() switch
                    {
                        "iocp" => CompletionPortBackend.Iocp,
                        "io_uring" => CompletionPortBackend.IoUring,
                        "epoll" => CompletionPortBackend.Epoll,
                        "default" => CompletionPortBackend.Default,
                        string other => throw new ArgumentException($"Unknown backend '{other}' (iocp, io_uring, epoll)."),
                    };
                    break;
                default:
                    if (arg.StartsWith('-') || source is not null)
                    {
                        throw new ArgumentException($"Unknown argument '{arg}'.");
                    }

                    source = arg;
                    break;
            }
        }

        if (options.Unbuffered && options.BlockBytes % PortFile.UnbufferedAlignment != 0)
        {
            throw new ArgumentException($"--unbuffered needs a block size that is a multiple of {PortFile.UnbufferedAlignment / 1024} KiB.");
        }

        options.Source = Path.GetFullPath(source ?? Path.Combine(RepositoryRoot(), "artifacts", "demo", "source.bin"));
        options.Destination = Path.GetFullPath(destination ?? options.Source + ".copy");
        if (options.Source == options.Destination)
        {
            throw new ArgumentException("The source and the destination are the same file.");
        }

        return options;
    }

    private static int PositiveInt(string name, string text) =>
        int.TryParse(text, out int value) && value > 0 ? value : throw new ArgumentException($"{name} needs a positive integer, not '{text}'.");

    /// <summary>The repository root (the folder with CMakePresets.json) above the current directory, else the current directory.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CMakePresets.json")) && Directory.Exists(Path.Combine(dir.FullName, "managed")))
            {
                return dir.FullName;
            }
        }

        return Environment.CurrentDirectory;
    }
}
