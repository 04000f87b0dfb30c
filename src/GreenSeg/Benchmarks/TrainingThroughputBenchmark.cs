using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using TorchSharp;

namespace GreenSeg.Benchmarks;

/// <summary>One timed pass over the benchmark's slices.</summary>
public sealed record EpochTiming(double Seconds, double DataWaitSeconds, int Slices)
{
    public double SlicesPerSecond => Seconds > 0 ? Slices / Seconds : 0;
    public double DataWaitShare => Seconds > 0 ? DataWaitSeconds / Seconds : 0;
}

/// <summary>
/// A recipe's training speed: a cold pass (caches empty, libtorch warming up) and a warm pass over the
/// same slices (the steady state of every later epoch).
/// </summary>
public sealed record RecipeTiming(string Recipe, string Changes, TrainingOptions Options, int BatchSize, long Parameters, long MacsPerSlice,
    EpochTiming Cold, EpochTiming Warm)
{
    /// <summary>
    /// Convolution FLOP/s the steady state achieves: forward 2 FLOPs per multiply-accumulate, backward
    /// about twice the forward, so 6 x MACs per slice (the usual estimate; the optimizer step is not counted).
    /// </summary>
    public double EffectiveGigaflops => 6.0 * MacsPerSlice * Warm.SlicesPerSecond / 1e9;
}

/// <summary>
/// Times training steps exactly as <see cref="Trainer"/> takes them (same preparation, cache, loader,
/// prefetch, model, compute mode, loss and optimizer) on a fixed subset of a dataset's slices, without
/// validation or checkpoints: what each recipe costs per slice on this machine.
/// </summary>
public static class TrainingThroughputBenchmark
{
    public static RecipeTiming Measure(string recipe, string changes, TrainingOptions options, IReadOnlyList<SliceRef> slices, int batches,
        CancellationToken cancellationToken = default)
    {
        if (batches < 1) throw new GreenSegException($"benchmark: batches must be at least 1, got {batches}");
        int batchSize = options.Optimisation.BatchSizeIsAuto ? 8 : options.Optimisation.FixedBatchSize;
        var subset = Subset(slices, batches * batchSize, options.Seed);
        var device = TorchRuntime.ResolveDevice(options.Compute.Device);
        var precision = PrecisionOption.Resolve(options.Compute.Precision, device);
        var preparation = SamplePreparation.Create(options);
        var mode = options.Loading.Cache;
        // A fresh disk cache, so the cold pass really is cold; removed afterwards.
        string? diskFolder = mode == CacheMode.Disk ? Path.Combine(Path.GetTempPath(), "greenseg-bench-cache-" + Guid.NewGuid().ToString("N")) : null;
        try
        {
            var cache = new SampleCache(mode, preparation.Prepare, preparation.Fingerprint, diskFolder);
            torch.manual_seed(options.Seed);
            using var model = ModelRegistry.Create(options.Model, new ModelOptions { BaseFeatures = options.ModelWidth });
            var profile = ModelProfiler.Profile(model, options.Preprocessing.Size, options.Preprocessing.Size);
            model.to(device);
            ComputeMode.Apply(model, precision, options.Compute.ChannelsLast);
            var compute = new ComputeSettings(precision, options.Compute.ChannelsLast);
            var loss = LossFactory.Create(options.Optimisation.Loss, options.Optimisation.LossSettings);
            // The learning rate does not change the cost of a step; the LR finder's sweep is a one-off cost measured by the study.
            double learningRate = options.Optimisation.LearningRateIsAuto ? 1e-3 : options.Optimisation.FixedLearningRate;
            using var optimizer = OptimizerFactory.Create(options.Optimisation.Optimizer, model.parameters(), Trainer.OptimizerSettingsFrom(options, learningRate));
            var loader = new BatchLoader(subset, cache, batchSize, options.Preprocessing.Size, options.Seed, preparation.Writer, options.Loading.Prefetch);
            model.train();
            var parts = new TrainingParts(model, compute, loss, optimizer, device) { GradClip = options.Optimisation.GradClip };

            EpochTiming Pass(int epoch)
            {
                var clock = Stopwatch.StartNew();
                foreach (var batch in loader.Epoch(epoch, cancellationToken))
                    TrainingStep.Run(parts, batch);
                return new EpochTiming(clock.Elapsed.TotalSeconds, loader.LastEpochDataWait.TotalSeconds, subset.Count);
            }

            var cold = Pass(0);
            var warm = Pass(1);
            return new RecipeTiming(recipe, changes, options, batchSize, profile.Parameters, profile.MultiplyAccumulates, cold, warm);
        }
        finally
        {
            if (diskFolder is not null && Directory.Exists(diskFolder)) Directory.Delete(diskFolder, recursive: true);
        }
    }

    /// <summary>A seeded sample of the slices (mixing stacks and sequences), the same for every recipe.</summary>
    public static IReadOnlyList<SliceRef> Subset(IReadOnlyList<SliceRef> slices, int count, int seed)
    {
        if (slices.Count == 0) throw new GreenSegException("benchmark: the dataset has no training slices with masks");
        var order = Enumerable.Range(0, slices.Count).ToArray();
        new Random(seed).Shuffle(order);
        return order.Take(Math.Min(count, slices.Count)).Order().Select(i => slices[i]).ToList();
    }
}
