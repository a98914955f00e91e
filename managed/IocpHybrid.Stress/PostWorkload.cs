namespace IocpHybrid.Stress;

/// <summary>
/// Posted packets: bursts of concurrent posts, each carrying a value it must bring back. A post is
/// withdrawn only when its token is cancelled before it is posted (then
/// <see cref="OperationCanceledException"/>); once posted it always completes with its value.
/// </summary>
internal sealed class PostWorkload(StressContext ctx, int lanes)
{
    private const long Domain = 5;

    internal Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, lanes).Select(lane => ctx.Lane($"post {lane}", () => LaneAsync(lane, stop))));

    private async Task LaneAsync(int lane, CancellationToken stop)
    {
        Random random = ctx.RandomFor(Domain, lane);
        var burst = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            int count = random.Next(1, 33);
            for (int i = 0; i < count; i++)
            {
                long value = random.NextInt64();
                burst.Add(PostOneAsync((ulong)lane, value, Chaos.Maybe(random, 0.05)));
            }

            await Task.WhenAll(burst).ConfigureAwait(false);
            burst.Clear();
        }
    }

    private async Task PostOneAsync(ulong key, long value, Chaos chaos)
    {
        using (chaos)
        {
            try
            {
                long back = await ctx.Ledger.Track(OpKind.Post, () =>
                {
                    ValueTask<long> post = ctx.Port.PostAsync(key, value, chaos.Token);
                    chaos.AfterStart();
                    return post;
                }).ConfigureAwait(false);
                if (back != value)
                {
                    ctx.Ledger.Fail($"post: {value} posted, {back} delivered");
                }
                else
                {
                    ctx.Ledger.Verified(sizeof(long));
                }
            }
            catch (OperationCanceledException) when (chaos.Cancelled && !chaos.CancelsAfterStart)
            {
                // Cancelled before it was posted. One cancelled only after PostAsync returned was posted:
                // its OperationCanceledException would be a withdrawn packet, and fails the run.
            }
        }
    }
}
