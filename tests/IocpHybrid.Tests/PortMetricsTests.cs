using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;

namespace IocpHybrid.Tests;

/// <summary>Tests that read the library's meter run alone: the meter counts every port in the process.</summary>
[CollectionDefinition(nameof(PortMetricsCollection), DisableParallelization = true)]
public sealed class PortMetricsCollection
{
}

/// <summary>The <c>IocpHybrid</c> meter, read as an operator's tool would, through <see cref="MeterListener"/>.</summary>
[Collection(nameof(PortMetricsCollection))]
public sealed class PortMetricsTests
{
    [Fact]
    public async Task CountsOperationsByKindFailuresBatchesAndConnections()
    {
        using var recorded = new RecordedMeasurements();

        // What is current is observed: relative to what other (earlier) tests left behind.
        long connectionsBefore = recorded.Observe("iocphybrid.connections.active");
        long inFlightBefore = recorded.Observe("iocphybrid.operations.active");
        await using (var port = new CompletionPort())
        {
            PortTcpListener listener = port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
            ValueTask<PortTcpConnection> accepting = listener.AcceptAsync();
            PortTcpConnection client = await PortTcpConnection.ConnectAsync(port, listener.LocalEndPoint).Within();
            PortTcpConnection server = await accepting.Within();
            Assert.Equal(connectionsBefore + 2, recorded.Observe("iocphybrid.connections.active"));

            await client.SendAsync(new byte[] { 1, 2, 3 }).Within();
            Assert.Equal(3, await server.ReceiveAsync(new byte[8]).Within());

            // A receive in flight shows; cancelled by its token it fails with error.type "canceled".
            using (var cts = new CancellationTokenSource())
            {
                ValueTask<int> receive = server.ReceiveAsync(new byte[8].AsMemory(), cts.Token);
                Assert.Equal(inFlightBefore + 1, recorded.Observe("iocphybrid.operations.active"));
                cts.Cancel();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.AsTask().Within());
            }

            Assert.Equal(7, await port.PostAsync(1, 7).Within());
            client.Dispose();
            server.Dispose();
            listener.Dispose();
            Assert.Equal(connectionsBefore, recorded.Observe("iocphybrid.connections.active"));
        }

        Assert.Equal(inFlightBefore, recorded.Observe("iocphybrid.operations.active"));

        Assert.Equal(1, recorded.Sum("iocphybrid.operations.started", "tcp.accept"));
        Assert.Equal(1, recorded.Sum("iocphybrid.operations.started", "tcp.connect"));
        Assert.Equal(1, recorded.Sum("iocphybrid.operations.started", "tcp.send"));
        Assert.Equal(2, recorded.Sum("iocphybrid.operations.started", "tcp.receive"));
        Assert.Equal(1, recorded.Sum("iocphybrid.operations.started", "post"));
        Assert.Equal(recorded.Sum("iocphybrid.operations.started"), recorded.Sum("iocphybrid.operations.completed"));
        Assert.Equal(1, recorded.Sum("iocphybrid.operations.failed"));
        Assert.Equal(1, recorded.Sum("iocphybrid.operations.failed", "tcp.receive", "canceled"));

        // Every completion went through a batch of at least one.
        Assert.NotEmpty(recorded.Values("iocphybrid.completion.batch_size"));
        Assert.All(recorded.Values("iocphybrid.completion.batch_size"), size => Assert.InRange(size, 1, CompletionPortOptions.MaxBatchLimit));
        // The accept, the connect, the cancelled receive and the post completed through the port (sends and
        // receives may also finish within the call, by an immediate attempt, outside any batch).
        Assert.True(recorded.Values("iocphybrid.completion.batch_size").Sum() >= 4);
    }

    [Fact]
    public void EveryInstrumentIsPublishedUnderTheMeterName()
    {
        var names = new ConcurrentBag<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == "IocpHybrid")
                {
                    names.Add(instrument.Name);
                }
            },
        };
        listener.Start();
        using (new CompletionPort())
        {
        }

        Assert.Equal(
            new[] { "iocphybrid.completion.batch_size", "iocphybrid.connections.active", "iocphybrid.operations.active", "iocphybrid.operations.completed", "iocphybrid.operations.failed", "iocphybrid.operations.started" },
            names.Distinct().Order().ToArray());
    }

    /// <summary>Every measurement of the IocpHybrid meter while it lives, with its tags.</summary>
    private sealed class RecordedMeasurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, long Value, string? Operation, string? Error)> _measurements = new();

        public RecordedMeasurements()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "IocpHybrid")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
            _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
            _listener.Start();
        }

        public long Sum(string name, string? operation = null, string? error = null) =>
            _measurements.Where(m => m.Name == name && (operation is null || m.Operation == operation) && (error is null || m.Error == error)).Sum(m => m.Value);

        /// <summary>The current value of an observable instrument.</summary>
        public long Observe(string name)
        {
            int before = _measurements.Count;
            _listener.RecordObservableInstruments();
            return _measurements.Skip(before).Where(m => m.Name == name).Sum(m => m.Value);
        }

        public long[] Values(string name) => _measurements.Where(m => m.Name == name).Select(m => m.Value).ToArray();

        public void Dispose() => _listener.Dispose();

        private void Record(string name, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? operation = null, error = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "iocphybrid.operation")
                {
                    operation = (string?)tag.Value;
                }
                else if (tag.Key == "error.type")
                {
                    error = (string?)tag.Value;
                }
            }

            _measurements.Enqueue((name, value, operation, error));
        }
    }
}
