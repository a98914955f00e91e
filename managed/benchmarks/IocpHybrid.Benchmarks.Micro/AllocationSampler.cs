using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace IocpHybrid.Benchmarks.Micro;

/// <summary>
/// <c>alloc --types</c>: which types an allocating operation allocates, from the runtime's
/// GCAllocationTick events (one about every 100 KB allocated, naming the type of the object that
/// crossed the mark), so a nonzero bytes_per_op can be traced to its source without a profiler.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, int> _types = new();
    private volatile bool _on;

    public void Start() => _on = true;

    /// <summary>The sampled types, most frequent first, as "Type xN".</summary>
    public string Stop()
    {
        _on = false;
        return string.Join(", ", _types.OrderByDescending(t => t.Value).Select(t => $"{t.Key} x{t.Value}"));
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_on || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }

        int i = e.PayloadNames.IndexOf("TypeName");
        if (i >= 0 && e.Payload?[i] is string type)
        {
            _types.AddOrUpdate(type, 1, (_, n) => n + 1);
        }
    }
}
