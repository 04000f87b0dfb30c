using System.Diagnostics;
using GreenSeg.Energy;

namespace GreenSeg.Benchmarks;

/// <summary>One benchmark case: a fixed CPU workload run bare or inside an energy window.</summary>
public sealed record OverheadCase(
    string Name,
    TimeSpan? SamplingInterval,
    double MedianWallSeconds,
    double MedianProcessCpuSeconds,
    double WallOverheadPercent,
    double CpuOverheadPercent,
    double SamplerPollsPerRun,
    double SamplerCpuSecondsPerRun,
    double SamplerCpuPercentOfWall,
    bool SamplerCpuIsThreadClock);

public sealed record OverheadReport(long WorkloadIterations, int Repeats, IReadOnlyList<OverheadCase> Cases, double WindowPairMicroseconds);

/// <summary>
/// Measures what energy accounting costs: a fixed single-threaded CPU workload is timed bare and
/// inside a monitor window (the sampler's default period and a 100 ms period), runs interleaved so
/// machine drift hits all cases alike. Also reports the sampler thread's own CPU time (thread clock)
/// and the cost of one BeginWindow/EndWindow pair.
/// </summary>
public static class EnergyOverheadBenchmark
{
    public static OverheadReport Run(EnergyOptions options, MachinePaths paths, double workloadSeconds, int repeats,
        Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (!(workloadSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(workloadSeconds));
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats));
        var cpuTime = new DotnetProcessCounters();
        long iterations = Calibrate(workloadSeconds);
        TimeMonitored(iterations / 10, cpuTime, options, paths, TimeSpan.FromMilliseconds(10)); // JIT the monitor path before timing
        progress?.Invoke($"workload: {iterations:N0} iterations ≈ {workloadSeconds} s");

        var intervals = new (string Name, TimeSpan? Interval)[]
        {
            ("no monitor", null),
            ("monitor, default sampling", null),
            ("monitor, 100 ms sampling", TimeSpan.FromMilliseconds(100)),
        };
        var runs = intervals.Select(_ => new List<(double Wall, double Cpu, long Polls, double SamplerCpu, bool ThreadClock)>()).ToArray();
        for (int r = 0; r < repeats; r++)
        {
            for (int c = 0; c < intervals.Length; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                runs[c].Add(c == 0 ? TimeBare(iterations, cpuTime) : TimeMonitored(iterations, cpuTime, options, paths, intervals[c].Interval));
                progress?.Invoke($"repeat {r + 1}/{repeats}: {intervals[c].Name} {runs[c][^1].Wall:0.000} s");
            }
        }

        double baseline = Median(runs[0].Select(x => x.Wall));
        double baselineCpu = Median(runs[0].Select(x => x.Cpu));
        var cases = intervals.Select((interval, c) =>
        {
            double wall = Median(runs[c].Select(x => x.Wall));
            double cpu = Median(runs[c].Select(x => x.Cpu));
            double samplerCpu = runs[c].Average(x => x.SamplerCpu);
            return new OverheadCase(interval.Name, c == 0 ? null : interval.Interval ?? DefaultInterval(options, paths), wall,
                cpu, 100.0 * (wall / baseline - 1), 100.0 * (cpu / baselineCpu - 1), runs[c].Average(x => x.Polls), samplerCpu,
                100.0 * samplerCpu / wall, runs[c].All(x => x.ThreadClock));
        }).ToList();
        return new OverheadReport(iterations, repeats, cases, TimeWindowPairs(options, paths));
    }

    private static (double, double, long, double, bool) TimeBare(long iterations, ICpuTimeReader cpuTime)
    {
        double cpu0 = cpuTime.ProcessCpuSeconds();
        var watch = Stopwatch.StartNew();
        Workload(iterations);
        watch.Stop();
        return (watch.Elapsed.TotalSeconds, cpuTime.ProcessCpuSeconds() - cpu0, 0, 0, true);
    }

    private static (double, double, long, double, bool) TimeMonitored(long iterations, ICpuTimeReader cpuTime, EnergyOptions options,
        MachinePaths paths, TimeSpan? interval)
    {
        using var plan = EnergyPlan.Create(options, paths);
        using var monitor = plan.StartMonitor(options: new EnergyMonitorOptions { SamplingInterval = interval });
        double cpu0 = cpuTime.ProcessCpuSeconds();
        var watch = Stopwatch.StartNew();
        monitor.BeginWindow("workload");
        Workload(iterations);
        monitor.EndWindow("workload");
        watch.Stop();
        double cpu = cpuTime.ProcessCpuSeconds() - cpu0;
        var sampler = monitor.Sampler;
        return (watch.Elapsed.TotalSeconds, cpu, sampler.Polls, sampler.CpuSeconds, sampler.CpuSecondsIsThreadClock);
    }

    private static TimeSpan DefaultInterval(EnergyOptions options, MachinePaths paths)
    {
        using var plan = EnergyPlan.Create(options, paths);
        using var monitor = plan.StartMonitor(options: new EnergyMonitorOptions { BackgroundSampling = false });
        return monitor.Sampler.Interval;
    }

    private static double TimeWindowPairs(EnergyOptions options, MachinePaths paths)
    {
        const int pairs = 2000;
        using var plan = EnergyPlan.Create(options, paths);
        using var monitor = plan.StartMonitor(options: new EnergyMonitorOptions { BackgroundSampling = false });
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < pairs; i++)
        {
            monitor.BeginWindow("pair");
            monitor.EndWindow("pair");
        }
        return watch.Elapsed.TotalMilliseconds * 1000.0 / pairs;
    }

    private static long Calibrate(double seconds)
    {
        const long probe = 2_000_000;
        Workload(probe); // warm up the JIT
        var watch = Stopwatch.StartNew();
        Workload(probe);
        return Math.Max(probe, (long)(probe * seconds / Math.Max(watch.Elapsed.TotalSeconds, 1e-6)));
    }

    /// <summary>A dependent floating-point chain: one core busy, no memory traffic, not optimised away.</summary>
    private static double Workload(long iterations)
    {
        double x = 1.0;
        for (long i = 0; i < iterations; i++) x = x * 0.999999 + Math.Sqrt(i & 1023);
        GC.KeepAlive(x);
        return x;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }
}
