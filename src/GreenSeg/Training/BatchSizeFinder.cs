using System.Diagnostics;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training.Losses;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training;

public sealed record BatchSizeTrial(int BatchSize, double SlicesPerSecond, double PeakMemoryMb, bool Fits);

public sealed record BatchSizeResult(int Chosen, IReadOnlyList<BatchSizeTrial> Trials);

/// <summary>
/// Tries batch sizes 2, 4, 8, ... on real training slices: a warm-up step, then timed steps, watching the
/// process's resident memory. Picks the best throughput among the sizes that stay under the memory
/// limit (larger batches stop being tried once one exceeds it). Model and optimizer are restored.
/// </summary>
public static class BatchSizeFinder
{
    public static BatchSizeResult Find(SegmentationModel model, ComputeSettings compute, SegmentationLoss loss, OptimizerHelper optimizer,
        SampleCache cache, IReadOnlyList<SliceRef> slices, int size, int memoryLimitMb, Device device, int maxBatch = 64, int timedSteps = 2)
    {
        var trials = new List<BatchSizeTrial>();
        using var snapshot = TrainingSnapshot.Take(model, optimizer);
        model.train();
        for (int batchSize = 2; batchSize <= Math.Min(maxBatch, Math.Max(2, slices.Count)); batchSize *= 2)
        {
            var batch = Trainer.BatchOf(Enumerable.Range(0, batchSize).Select(i => cache.Get(slices[i % slices.Count])).ToList(), size);
            double peak = 0;
            Trainer.Step(model, compute, loss, optimizer, batch, 0, device);
            peak = Math.Max(peak, ResidentMb());
            var clock = Stopwatch.StartNew();
            for (int s = 0; s < timedSteps; s++)
            {
                Trainer.Step(model, compute, loss, optimizer, batch, 0, device);
                peak = Math.Max(peak, ResidentMb());
            }
            bool fits = peak <= memoryLimitMb;
            trials.Add(new BatchSizeTrial(batchSize, batchSize * timedSteps / clock.Elapsed.TotalSeconds, peak, fits));
            if (!fits) break;
        }
        var fitting = trials.Where(t => t.Fits).ToList();
        int chosen = fitting.Count == 0 ? 2 : fitting.MaxBy(t => t.SlicesPerSecond)!.BatchSize;
        return new BatchSizeResult(chosen, trials);
    }

    private static double ResidentMb()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }
}
