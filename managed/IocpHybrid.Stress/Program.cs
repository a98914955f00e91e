using System.Globalization;
using IocpHybrid;
using IocpHybrid.Stress;

// ./build.sh stress --minutes N [--backend B] runs this (scripts/Stress.ps1); docs/stress.md describes it.
const string Usage = """
    IocpHybrid.Stress: mixed file, pipe, TCP, UDP and post load through a CompletionPort with random
    cancellations, timeouts and closes; verifies every byte; samples memory and descriptors.
      --minutes M         how long the load runs (fractions allowed; default 1)
      --seed S            the seed of every random choice (default: a new one, printed)
      --sample-seconds X  seconds between samples (default: the run's length / 60, between 1 and 10)
    The backend is the port's default: set IOCPH_BACKEND=io_uring|epoll|iocp to choose (the run then
    fails unless that backend is the one running). Exit code 0 when everything verified, 1 otherwise.
    """;

double minutes = 1;
long? seedArg = null;
double? sampleSeconds = null;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--minutes":
            minutes = double.Parse(Next(), CultureInfo.InvariantCulture);
            break;
        case "--seed":
            seedArg = long.Parse(Next(), CultureInfo.InvariantCulture);
            break;
        case "--sample-seconds":
            sampleSeconds = double.Parse(Next(), CultureInfo.InvariantCulture);
            break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

if (minutes <= 0)
{
    Console.Error.WriteLine("--minutes must be positive");
    return 2;
}

var duration = TimeSpan.FromMinutes(minutes);
TimeSpan interval = TimeSpan.FromSeconds(sampleSeconds ?? Math.Clamp(duration.TotalSeconds / 60, 1, 10));
long seed = seedArg ?? Random.Shared.NextInt64(1, int.MaxValue);
return await new StressRun(duration, interval, seed).RunAsync().ConfigureAwait(false);
