namespace IocpHybrid.Stress;

/// <summary>
/// A cancellation token that may cancel the operation it is given to: not at all (most operations),
/// before it starts, right after it started (it is then pending in the port), or after a millisecond
/// or two (racing its completion). Dispose it after the operation ended.
/// </summary>
internal sealed class Chaos : IDisposable
{
    private readonly CancellationTokenSource? _cts;
    private readonly bool _cancelAfterStart;

    private Chaos(CancellationTokenSource? cts, bool cancelAfterStart)
    {
        _cts = cts;
        _cancelAfterStart = cancelAfterStart;
    }

    internal CancellationToken Token => _cts?.Token ?? CancellationToken.None;

    internal bool Cancelled => _cts?.IsCancellationRequested == true;

    /// <summary>Whether the token is cancelled only once the operation was started (<see cref="AfterStart"/>).</summary>
    internal bool CancelsAfterStart => _cancelAfterStart;

    /// <summary>A token that cancels with probability <paramref name="probability"/>, in one of the three ways.</summary>
    internal static Chaos Maybe(Random random, double probability)
    {
        if (random.NextDouble() >= probability)
        {
            return new Chaos(null, false);
        }

        var cts = new CancellationTokenSource();
        switch (random.Next(4))
        {
            case 0:
                cts.Cancel();
                return new Chaos(cts, false);
            case 1:
                return new Chaos(cts, true);
            default:
                cts.CancelAfter(random.Next(1, 4));
                return new Chaos(cts, false);
        }
    }

    /// <summary>Called by the starter once the operation's task exists: cancels it now when so chosen.</summary>
    internal void AfterStart()
    {
        if (_cancelAfterStart)
        {
            _cts!.Cancel();
        }
    }

    public void Dispose() => _cts?.Dispose();
}
