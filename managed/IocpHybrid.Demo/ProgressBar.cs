using System.Diagnostics;

namespace IocpHybrid.Demo;

/// <summary>
/// A live progress line: redrawn in place with '\r' on a terminal; when the output is redirected,
/// one plain line every 10 %.
/// </summary>
internal sealed class ProgressBar : IAsyncDisposable
{
    /// <summary>What the bar counts: bytes shown in MiB, or requests shown one by one.</summary>
    public sealed record Unit(string Name, long Divisor)
    {
        public static readonly Unit Bytes = new("MiB", 1024 * 1024);
        public static readonly Unit Requests = new("requests", 1);
    }

    private const int Width = 32;
    private readonly string _label;
    private readonly long _total;
    private readonly Func<long> _done;
    private readonly Unit _unit;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly bool _interactive = !Console.IsOutputRedirected;
    private int _lastDecile = -1;

    public ProgressBar(string label, long total, Func<long> done, Unit? unit = null)
    {
        _unit = unit ?? Unit.Bytes;
        _label = label;
        _total = Math.Max(1, total);
        _done = done;
        _loop = RunAsync();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Draw(final: false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Draw(bool final)
    {
        long done = Math.Min(_done(), _total);
        double fraction = done / (double)_total;
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-6);
        double rate = done / seconds / _unit.Divisor;
        long shown = done / _unit.Divisor;
        long total = _total / _unit.Divisor;
        if (_interactive)
        {
            int filled = (int)(fraction * Width);
            string bar = new string('#', filled) + new string('.', Width - filled);
            Console.Write($"\r{_label,-8} [{bar}] {fraction,6:P1}  {shown,5}/{total} {_unit.Name}  {rate,8:F1} {_unit.Name}/s ");
            if (final)
            {
                Console.WriteLine();
            }
        }
        else
        {
            int decile = (int)(fraction * 10);
            if (decile != _lastDecile && (decile > _lastDecile || final))
            {
                _lastDecile = decile;
                Console.WriteLine($"{_label}: {fraction,6:P0}  {shown}/{total} {_unit.Name}  {rate:F1} {_unit.Name}/s");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        Draw(final: true);
        _stop.Dispose();
    }
}
