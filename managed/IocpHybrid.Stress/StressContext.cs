namespace IocpHybrid.Stress;

/// <summary>What every workload shares: the port, the books, the seed and a scratch directory.</summary>
internal sealed class StressContext(CompletionPort port, Ledger ledger, long seed, string scratch)
{
    internal CompletionPort Port { get; } = port;

    internal Ledger Ledger { get; } = ledger;

    internal long Seed { get; } = seed;

    internal string Scratch { get; } = scratch;

    /// <summary>A generator of its own for one lane: the lane's choices follow from the seed alone.</summary>
    internal Random RandomFor(params ReadOnlySpan<long> parts) => new((int)(Pattern.Key(Seed, parts) & 0x7FFFFFFF));

    /// <summary>Runs one lane; an exception escaping it is a failure of the run (an exception nobody expected).</summary>
    internal async Task Lane(string name, Func<Task> body)
    {
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Ledger.Fail($"{name}: unexpected {ex.GetType().FullName}: {ex.Message}{Environment.NewLine}{ex.StackTrace}");
        }
    }
}
