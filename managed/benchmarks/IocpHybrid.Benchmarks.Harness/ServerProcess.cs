using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// A server for one repetition of a socket case: started under taskset on its own core, ready once it
/// prints "listening on ADDRESS:PORT" (port 0 = ephemeral, so runs never collide), stopped with
/// SIGTERM. Dispose kills it if it is still running, and a process-exit hook kills every server not
/// yet disposed, so a failing or interrupted run leaves no process behind.
/// </summary>
public sealed partial class ServerProcess : IDisposable
{
    public const int SigInt = 2, SigTerm = 15;
    private static readonly Lock LiveLock = new();
    private static readonly HashSet<Process> Live = [];

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<int> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    static ServerProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => KillAll();
    }

    private ServerProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public int Port { get; private set; }

    /// <summary>Starts <paramref name="file"/> pinned to <paramref name="cpus"/> and waits until it listens.</summary>
    /// <param name="env">Variables to set; a null value removes one inherited from the harness.</param>
    public static ServerProcess Start(string file, IEnumerable<string> args, string cpus, IReadOnlyDictionary<string, string?>? env = null, int readySeconds = 60)
    {
        if (!File.Exists(file))
        {
            throw new InvalidOperationException($"{file} not found (./build.sh bench builds it)");
        }

        ProcessStartInfo psi = Runner.PinnedStartInfo(file, args, cpus);

        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v == null)
            {
                psi.Environment.Remove(k);
            }
            else
            {
                psi.Environment[k] = v;
            }
        }

        // taskset execs the server: the pid is the server's, which the client reads /proc/PID/stat of.
        var process = new Process { StartInfo = psi };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data != null)
            {
                lock (server._stderr)
                {
                    server._stderr.AppendLine(e.Data);
                }
            }
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => server._ready.TrySetException(new InvalidOperationException($"{Path.GetFileName(file)} exited before listening: {server.Stderr()}"));
        lock (LiveLock)
        {
            process.Start();
            Live.Add(process);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (!server._ready.Task.Wait(TimeSpan.FromSeconds(readySeconds)))
            {
                throw new InvalidOperationException($"{Path.GetFileName(file)} printed no \"listening on\" within {readySeconds} s: {server.Stderr()}");
            }

            server.Port = server._ready.Task.Result;
        }
        catch (AggregateException ex) when (ex.InnerException != null)
        {
            server.Dispose();
            throw ex.InnerException;
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    /// <summary>
    /// SIGTERM (or <paramref name="signal"/>: SIGINT for a server under Wine, which delivers it as
    /// Ctrl+C), then waits for a clean exit; a server that hangs is killed and one that exits non-zero
    /// is an error (its graceful shutdown is part of what the case checks).
    /// </summary>
    public void Stop(int signal = SigTerm, int timeoutSeconds = 15)
    {
        string name = signal == SigInt ? "SIGINT" : signal == SigTerm ? "SIGTERM" : $"signal {signal}";
        if (!_process.HasExited && SysKill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {name}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        if (!_process.WaitForExit(timeoutSeconds * 1000))
        {
            Dispose();
            throw new InvalidOperationException($"the server did not stop within {timeoutSeconds} s of {name} (killed): {Stderr()}");
        }

        _process.WaitForExit(); // drains the redirected output
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the server exited with {_process.ExitCode} after {name}: {Stderr()}");
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        lock (LiveLock)
        {
            Live.Remove(_process);
        }

        _process.Dispose();
    }

    private static void KillAll()
    {
        lock (LiveLock)
        {
            foreach (var p in Live)
            {
                try
                {
                    p.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
            }

            Live.Clear();
        }
    }

    private void OnOutput(string? line)
    {
        if (line == null)
        {
            return;
        }

        Match m = Listening().Match(line);
        if (m.Success)
        {
            _ready.TrySetResult(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        }
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            string s = _stderr.ToString().Trim();
            return s.Length > 2000 ? "..." + s[^2000..] : s;
        }
    }

    // "listening on 127.0.0.1:40123", "listening on [::1]:40123" or "listening on http://127.0.0.1:40123 (...)"
    // (the web app): the port is after the last colon of the address.
    [GeneratedRegex(@"listening on \S*:(\d+)(\s|$)")]
    private static partial Regex Listening();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
