using System.Collections.Concurrent;
using System.Diagnostics;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// A program the harness talks to while it runs (pinned with taskset like <see cref="Runner.Run"/>):
/// its stdout lines can be awaited one step at a time, its stdin written to. Disposing it kills
/// the program if it is still running, so no process outlives a failed or skipped run.
/// </summary>
public sealed class LineProcess : IDisposable
{
    /// <summary>The exit code a program uses to say "can't run on this machine" (liburing's convention).</summary>
    public const int SkipExitCode = 77;

    private readonly Process _p;
    private readonly string _name;
    private readonly BlockingCollection<string> _lines = [];
    private readonly List<string> _all = [];
    private readonly Task<string> _stderr;
    private readonly Task _pump;

    private LineProcess(Process p, string name)
    {
        _p = p;
        _name = name;
        _stderr = p.StandardError.ReadToEndAsync();
        _pump = Task.Run(() =>
        {
            while (p.StandardOutput.ReadLine() is string line)
            {
                lock (_all) { _all.Add(line); }
                _lines.Add(line);
            }

            _lines.CompleteAdding();
        });
    }

    /// <summary>Everything the program printed on stdout so far.</summary>
    public string Output
    {
        get { lock (_all) { return string.Join('\n', _all); } }
    }

    public static LineProcess Start(string file, IEnumerable<string> args, string? cpus, IDictionary<string, string>? env = null)
    {
        ProcessStartInfo psi = Runner.PinnedStartInfo(file, args, cpus);
        psi.RedirectStandardInput = true;
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        return new LineProcess(Process.Start(psi)!, Path.GetFileName(file));
    }

    /// <summary>
    /// Waits for the next stdout line containing <paramref name="text"/> (earlier lines are skipped).
    /// Throws <see cref="SkipException"/> if the program ended with <see cref="SkipExitCode"/>, and
    /// an error with its stderr if it ended otherwise or took longer than <paramref name="timeout"/>.
    /// </summary>
    public string WaitForLine(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new InvalidOperationException($"{_name}: no {text} within {timeout.TotalSeconds:0} s");
            }

            if (_lines.TryTake(out string? line, left))
            {
                if (line.Contains(text, StringComparison.Ordinal))
                {
                    return line;
                }
            }
            else if (_lines.IsCompleted)
            {
                throw Ended($"ended before {text}");
            }
        }
    }

    public void WriteLine(string line)
    {
        _p.StandardInput.WriteLine(line);
        _p.StandardInput.Flush();
    }

    public void CloseInput() => _p.StandardInput.Close();

    /// <summary>Waits for the program to end; throws unless it exits with 0.</summary>
    public void WaitForSuccess(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout))
        {
            throw new InvalidOperationException($"{_name}: still running after {timeout.TotalSeconds:0} s");
        }

        _pump.Wait(timeout);
        if (_p.ExitCode != 0)
        {
            throw Ended("failed");
        }
    }

    private Exception Ended(string what)
    {
        _p.WaitForExit(10_000);
        string err = _stderr.Wait(5_000) ? _stderr.Result.Trim() : "";
        if (_p.HasExited && _p.ExitCode == SkipExitCode)
        {
            return new SkipException(err.Length > 0 ? err : $"{_name} can't run here (exit {SkipExitCode})");
        }

        string code = _p.HasExited ? $"exit {_p.ExitCode}" : "still running";
        return new InvalidOperationException($"{_name} {what} ({code}): {err}");
    }

    public void Dispose()
    {
        try
        {
            if (!_p.HasExited)
            {
                _p.Kill(entireProcessTree: true);
                _p.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _pump.Wait(10_000); // stdout closes with the process: the pump ends before its collection goes
        _p.Dispose();
        _lines.Dispose();
    }
}
