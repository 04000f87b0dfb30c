using System.Diagnostics;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Models;
using GreenSeg.Training.Losses;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <param name="SlicesPerJoule">Training slices per joule of the timed steps; null when the search ran without an energy monitor.</param>
public sealed record BatchSizeTrial(int BatchSize, double SlicesPerSecond, double PeakMemoryMb, bool Fits, double? SlicesPerJoule = null);

/// <param name="ByEnergy">Whether <paramref name="Chosen"/> is the size with the most slices per joule (else: per second).</param>
public sealed record BatchSizeResult(int Chosen, IReadOnlyList<BatchSizeTrial> Trials, bool ByEnergy = false);

/// <summary>What the search tries: slices of this size, within this much resident memory, batches up to MaxBatch, timed over TimedSteps steps.</summary>
public sealed record BatchSizeSearch(int Size, int MemoryLimitMb, int MaxBatch = 64, int TimedSteps = 2);

/// <summary>
/// Tries batch sizes 2, 4, 8, ... on real training slices: a warm-up step, then timed steps, watching the
/// process's resident memory. Among the sizes that stay under the memory limit (larger batches stop being
/// tried once one exceeds it) it picks the one that trains the most slices per joule when given the run's
/// energy monitor (the energy is what a green run minimises: a size that leaves threads waiting costs less
/// per slice than its time suggests under a measured counter), else the best throughput. Model and optimizer are restored.
/// </summary>
public static class BatchSizeFinder
{
    /// <summary>Steps run without clipping or hooks (a distributed hook must not average the trials' gradients).</summary>
    public static BatchSizeResult Find(TrainingParts parts, SampleCache cache, IReadOnlyList<SliceRef> slices, BatchSizeSearch search,
        EnergyMonitor? energy = null)
    {
        var trials = new List<BatchSizeTrial>();
        using var snapshot = TrainingSnapshot.Take(parts.Model, parts.Optimizer);
        var plain = parts with { GradClip = 0, Hooks = [] };
        parts.Model.train();
        for (int batchSize = 2; batchSize <= Math.Min(search.MaxBatch, Math.Max(2, slices.Count)); batchSize *= 2)
        {
            var batch = TrainingStep.BatchOf(Enumerable.Range(0, batchSize).Select(i => cache.Get(slices[i % slices.Count])).ToList(), search.Size);
            double peak = 0;
            TrainingStep.Run(plain, batch);
            peak = Math.Max(peak, ResidentMb());
            string window = $"batch-size-finder-{batchSize}";
            energy?.BeginWindow(window);
            var clock = Stopwatch.StartNew();
            for (int s = 0; s < search.TimedSteps; s++)
            {
                TrainingStep.Run(plain, batch);
                peak = Math.Max(peak, ResidentMb());
            }
            double seconds = clock.Elapsed.TotalSeconds, joules = energy?.EndWindow(window).TotalJoules ?? 0;
            int timedSlices = batchSize * search.TimedSteps;
            bool fits = peak <= search.MemoryLimitMb;
            trials.Add(new BatchSizeTrial(batchSize, timedSlices / seconds, peak, fits, joules > 0 ? timedSlices / joules : null));
            if (!fits) break;
        }
        var fitting = trials.Where(t => t.Fits).ToList();
        bool byEnergy = fitting.Count > 0 && fitting.All(t => t.SlicesPerJoule is not null);
        int chosen = fitting.Count == 0 ? 2 : fitting.MaxBy(t => byEnergy ? t.SlicesPerJoule!.Value : t.SlicesPerSecond)!.BatchSize;
        return new BatchSizeResult(chosen, trials, byEnergy);
    }

    private static double ResidentMb()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }
}
