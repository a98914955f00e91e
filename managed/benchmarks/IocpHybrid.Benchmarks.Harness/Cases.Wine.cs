namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// <c>--wine</c>: the smoke pass on the IOCP backend. The same harness runs on Linux and starts the
/// win-x64 builds of the contenders under Wine (self-contained C# programs, the mingw-w64 C echo
/// server): every case must run and produce figures, as on Linux, but none of its figures says how
/// fast Windows is (Wine proves the API, not Windows speed; its server process and wineserver are
/// in the path of every operation). Only the cases whose contenders exist for Windows run: TCP echo
/// 64 x 64 B (the Linux C client against the servers under Wine), cached 4 KiB reads at depth 32, the
/// sequential copy, C# posts and allocations.
/// </summary>
public sealed partial class Cases
{
    private IEnumerable<BenchCase> WineCases()
    {
        yield return WineEcho();
        yield return WineFileRead();
        yield return WineCopy();
        yield return WinePosts();
        yield return WineAllocations();
    }

    /// <summary>
    /// What every program under Wine gets: .NET 10's W^X code mapping off (it crashes CoreCLR under
    /// Wine 8 after some collections; README, "Windows"), quiet Wine, and the project's Wine prefix
    /// (made by ./build.sh test or bench --wine) unless the caller chose one.
    /// </summary>
    private Dictionary<string, string> WineEnv() => new()
    {
        ["DOTNET_EnableWriteXorExecute"] = "0",
        ["WINEDEBUG"] = "-all",
        ["WINEPREFIX"] = Environment.GetEnvironmentVariable("WINEPREFIX") ?? Path.Combine(p.Root, "artifacts", "wine"),
    };

    /// <summary>The command for a win-x64 program under Wine: wine64, then the program.</summary>
    private (string File, string[] Args) Wine(string exe, params string[] args)
    {
        if (!File.Exists(p.Wine64))
        {
            throw new SkipException($"{p.Wine64} not found (Debian package wine64)");
        }

        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"{exe} not found (./build.sh bench --wine publishes it)");
        }

        return (p.Wine64, [exe, .. args]);
    }

    private Figures WineRun(string exe, params string[] args)
    {
        (string file, string[] all) = Wine(exe, args);
        return Runner.ParseJsonLine(Runner.Run(file, all, Core, WineEnv()));
    }

    private BenchCase WineEcho()
    {
        const int conns = 64, size = 64;
        Figures Run(string exe, params string[] args)
        {
            (string file, string[] all) = Wine(exe, args);
            return EchoRun(file, all, WineEnv().ToDictionary(e => e.Key, e => (string?)e.Value), conns, size, ServerProcess.SigInt);
        }

        return new BenchCase("1. TCP echo", "64 connections x 64 B", "round_trips_per_sec", true, EchoBaseline,
        [
            new("IocpHybrid C (echo_server)", () => Run(Path.Combine(p.WinNativeDir, "echo_server.exe"), "0")),
            new("IocpHybrid C# (thread pool)", () => Run(p.WinExe("EchoServer"), "0")),
            new("IocpHybrid C# (inline)", () => Run(p.WinExe("EchoServer"), "0", "--inline")),
            new(EchoBaseline, () => Run(p.WinExe("IocpHybrid.Benchmarks.BclEchoServer"), "0")),
        ])
        {
            Extra = ["server_cpu_us_per_rt"],
            Note = "Under Wine (smoke pass: the figures are Wine's, not Windows'). The servers' win-x64 builds under wine64 on CPU 0, " +
                   "the Linux C client bench_echo_client on CPU 1, stopped with SIGINT (Wine turns it into Ctrl+C). server_cpu_us_per_rt leaves wineserver out.",
        };
    }

    private BenchCase WineFileRead()
    {
        string file = p.DataFile;
        Figures Managed(string contender) => WineRun(p.WinExe("IocpHybrid.Benchmarks.Files"),
            "--contender", contender, "--file", WinePath(file), "--depth", "32", "--seconds", Sec(3), "--warmup", ManagedWarmup());
        return new BenchCase("2. Files", "4 KiB random read, depth 32, page cache", "ops_per_sec", true, "RandomAccess.ReadAsync",
        [
            new("RandomAccess.ReadAsync", () => Managed("randomaccess")),
            new("RandomAccess.ReadAsync (Asynchronous)", () => Managed("randomaccess-async")),
            new("IocpHybrid C# (thread pool)", () => Managed("portfile")),
            new("IocpHybrid C# (inline)", () => Managed("portfile-inline")),
        ])
        {
            Setup = () => Runner.WarmCache(file),
            Note = "Under Wine (smoke pass). One core (taskset -c 1); the win-x64 Files program reads the Linux data file through Wine's Z: drive.",
        };
    }

    private BenchCase WineCopy()
    {
        string src = p.DataFile, dst = Path.Combine(p.OutDir, "copy.bin");
        Figures Copy(string contender) => DeletingCopy(dst, () =>
        {
            (string file, string[] all) = Wine(p.WinExe("IocpHybrid.Benchmarks.Files"), "--contender", contender, "--file", WinePath(src), "--dest", WinePath(dst));
            return Runner.ParseJsonLine(Runner.Run(file, all, env: WineEnv()));
        });

        return new BenchCase("2. Files", "sequential copy of the data file (page cache)", "mib_per_sec", true, "FileStream.CopyToAsync",
        [
            new("FileStream.CopyToAsync", () => Copy("copy-filestream")),
            new("IocpHybrid C# (demo's FileCopier)", () => Copy("copy-demo")),
        ])
        {
            Setup = () => Runner.WarmCache(src),
            Note = "Under Wine (smoke pass). Not pinned; 1 MiB blocks, 32 in flight; every copy ends with a flush to disk.",
        };
    }

    private BenchCase WinePosts()
    {
        string micro = p.WinExe("IocpHybrid.Benchmarks.Micro");
        return new BenchCase("3. The port", "posted packets, 64 in flight", "ns_per_op", false, "C# PostAsync awaited (thread pool)",
        [
            new("C# PostAsync awaited (thread pool)", () => WineRun(micro, "post", "--window", "64", "--seconds", Sec(2))),
            new("C# PostAsync awaited (inline)", () => WineRun(micro, "post", "--window", "64", "--seconds", Sec(2), "--inline")),
        ])
        {
            Extra = ["ops_per_sec", "cpu_ns_per_op"],
            Note = "Under Wine (smoke pass). One core.",
        };
    }

    private BenchCase WineAllocations()
    {
        string micro = p.WinExe("IocpHybrid.Benchmarks.Micro");
        string ops = "100000";
        return new BenchCase("4. Allocations", $"bytes allocated per operation, steady state ({ops} ops)", "bytes_per_op", false, "",
            AllocationKinds.Select(n => new Contender(n, () => WineRun(micro, "alloc", "--only", n, "--ops", ops))).ToList())
        {
            Extra = ["start_ns"],
            Repetitions = 1,
            Note = "Under Wine (smoke pass): as on Linux, GC.GetTotalAllocatedBytes(true) around awaited operations after a warm-up; target 0.",
        };
    }

    /// <summary>A Linux path as a program under Wine sees it: the whole file system is drive Z:.</summary>
    private static string WinePath(string path) => "Z:" + Path.GetFullPath(path).Replace('/', '\\');
}
