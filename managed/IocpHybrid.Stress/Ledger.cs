using System.Collections.Concurrent;
using System.Net.Sockets;

namespace IocpHybrid.Stress;

/// <summary>The kinds of operation the workloads start, counted separately.</summary>
internal enum OpKind
{
    FileRead,
    FileWrite,
    FileFlush,
    PipeRead,
    PipeWrite,
    TcpConnect,
    TcpAccept,
    TcpSend,
    TcpReceive,
    UdpSend,
    UdpReceive,
    Post,
}

/// <summary>How an operation ended.</summary>
internal enum Outcome
{
    Ok,
    Canceled,
    TimedOut,
    Closed,
    Error,
}

/// <summary>
/// The run's books: every operation started and how it ended (exactly once: <see cref="Track{T}"/>
/// counts the start before the call and the end after the await, so at the end started must equal
/// ended for every kind), the bytes and messages verified, and the failures.
/// </summary>
internal sealed class Ledger
{
    private static readonly int Kinds = Enum.GetValues<OpKind>().Length;
    private static readonly int Outcomes = Enum.GetValues<Outcome>().Length;

    private readonly long[] _started = new long[Kinds];
    private readonly long[] _ended = new long[Kinds * Outcomes];
    private readonly ConcurrentQueue<string> _failures = new();
    private long _bytesVerified;
    private long _itemsVerified;
    private long _lastProgressTicks = Environment.TickCount64;

    internal long BytesVerified => Volatile.Read(ref _bytesVerified);

    /// <summary>Messages, datagrams, file ranges and posted values checked.</summary>
    internal long ItemsVerified => Volatile.Read(ref _itemsVerified);

    internal int FailureCount => _failures.Count;

    internal IEnumerable<string> Failures => _failures;

    /// <summary>When an operation last ended (Environment.TickCount64): the stall watchdog reads it.</summary>
    internal long LastProgressTicks => Volatile.Read(ref _lastProgressTicks);

    internal long Started(OpKind kind) => Volatile.Read(ref _started[(int)kind]);

    internal long Ended(OpKind kind, Outcome outcome) => Volatile.Read(ref _ended[((int)kind * Outcomes) + (int)outcome]);

    internal long Ended(OpKind kind)
    {
        long sum = 0;
        foreach (Outcome o in Enum.GetValues<Outcome>())
        {
            sum += Ended(kind, o);
        }

        return sum;
    }

    internal long TotalEnded()
    {
        long sum = 0;
        foreach (OpKind k in Enum.GetValues<OpKind>())
        {
            sum += Ended(k);
        }

        return sum;
    }

    /// <summary>Starts an operation through <paramref name="start"/> and counts its start and its one end.</summary>
    internal async ValueTask<T> Track<T>(OpKind kind, Func<ValueTask<T>> start)
    {
        Interlocked.Increment(ref _started[(int)kind]);
        Outcome outcome = Outcome.Error;
        try
        {
            T result = await start().ConfigureAwait(false);
            outcome = Outcome.Ok;
            return result;
        }
        catch (Exception ex)
        {
            outcome = Classify(ex);
            throw;
        }
        finally
        {
            Interlocked.Increment(ref _ended[((int)kind * Outcomes) + (int)outcome]);
            Volatile.Write(ref _lastProgressTicks, Environment.TickCount64);
        }
    }

    /// <summary><see cref="Track{T}"/> for operations without a result.</summary>
    internal ValueTask<bool> Track(OpKind kind, Func<ValueTask> start) =>
        Track(kind, async () =>
        {
            await start().ConfigureAwait(false);
            return true;
        });

    internal void Verified(long bytes)
    {
        Interlocked.Add(ref _bytesVerified, bytes);
        Interlocked.Increment(ref _itemsVerified);
    }

    internal void Fail(string what)
    {
        _failures.Enqueue($"[{DateTime.UtcNow:HH:mm:ss.fff}] {what}");
        Console.Error.WriteLine($"FAIL: {what}");
    }

    private static Outcome Classify(Exception ex) => ex switch
    {
        OperationCanceledException => Outcome.Canceled,
        ObjectDisposedException => Outcome.Closed,
        SocketException { SocketErrorCode: SocketError.TimedOut } => Outcome.TimedOut,
        _ => Outcome.Error,
    };
}
