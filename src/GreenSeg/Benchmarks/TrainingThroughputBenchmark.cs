using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using TorchSharp;

namespace GreenSeg.Benchmarks;

/// <summary>One timed pass over the benchmark's slices, and its energy window when the pass was metered.</summary>
public sealed record EpochTiming(double Seconds, double DataWaitSeconds, int Slices, EnergyMeasurement? Energy = null)
{
    public double SlicesPerSecond => Seconds > 0 ? Slices / Seconds : 0;
    public double DataWaitShare => Seconds > 0 ? DataWaitSeconds / Seconds : 0;
    public double SecondsPerSlice => Slices > 0 ? Seconds / Slices : 0;
    /// <summary>Joules per slice of the pass's energy window (0 when the pass was not metered).</summary>
    public double JoulesPerSlice => Slices > 0 && Energy is { } energy ? energy.TotalJoules / Slices : 0;
}

/// <summary>
/// A recipe's training speed: a cold pass (caches empty, libtorch warming up) and a warm pass over the
/// same slices (the steady state of every later epoch). <see cref="Compute"/> is the mode the options resolved to
/// on this machine (precision auto becomes fp32 or bf16-mixed).
/// </summary>
public sealed record RecipeTiming(string Recipe, string Changes, TrainingOptions Options, ComputeSettings Compute, int BatchSize, long Parameters,
    long MacsPerSlice, EpochTiming Cold, EpochTiming Warm)
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
    /// <param name="batches">Batches of the warm pass, over a seeded subset of <paramref name="slices"/>.</param>
    /// <param name="coldBatches">Batches of the cold pass; null: all of them, as the warm pass (1: a one-batch warm-up).</param>
    /// <param name="energy">When given, each pass is timed inside an energy window of this monitor.</param>
    public static RecipeTiming Measure(string recipe, string changes, TrainingOptions options, IReadOnlyList<SliceRef> slices, int batches,
        int? coldBatches = null, EnergyMonitor? energy = null, CancellationToken cancellationToken = default)
    {
        if (batches < 1) throw new GreenSegException($"benchmark: batches must be at least 1, got {batches}");
        if (coldBatches < 1) throw new GreenSegException($"benchmark: cold batches must be at least 1, got {coldBatches}");
        int batchSize = BatchSize(options);
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
            using var model = ModelRegistry.Create(options.Model, options.ModelOptions());
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

            EpochTiming Pass(int epoch, int? batchLimit)
            {
                string window = $"{recipe}: epoch {epoch}";
                energy?.BeginWindow(window);
                var clock = Stopwatch.StartNew();
                int stepped = 0;
                var epochBatches = loader.Epoch(epoch, cancellationToken);
                foreach (var batch in batchLimit is int limit ? epochBatches.Take(limit) : epochBatches)
                {
                    TrainingStep.Run(parts, batch);
                    stepped += batch.Count;
                }
                double seconds = clock.Elapsed.TotalSeconds;
                return new EpochTiming(seconds, loader.LastEpochDataWait.TotalSeconds, stepped, energy?.EndWindow(window));
            }

            var cold = Pass(0, coldBatches);
            var warm = Pass(1, batchLimit: null);
            return new RecipeTiming(recipe, changes, options, compute, batchSize, profile.Parameters, profile.MultiplyAccumulates, cold, warm);
        }
        finally
        {
            if (diskFolder is not null && Directory.Exists(diskFolder)) Directory.Delete(diskFolder, recursive: true);
        }
    }

    /// <summary>The batch size a recipe trains with here (auto, which searches by memory, is timed at 8).</summary>
    public static int BatchSize(TrainingOptions options) => options.Optimisation.BatchSizeIsAuto ? 8 : options.Optimisation.FixedBatchSize;

    /// <summary>A seeded sample of the slices (mixing stacks and sequences), the same for every recipe.</summary>
    public static IReadOnlyList<SliceRef> Subset(IReadOnlyList<SliceRef> slices, int count, int seed)
    {
        if (slices.Count == 0) throw new GreenSegException("benchmark: the dataset has no training slices with masks");
        var order = Enumerable.Range(0, slices.Count).ToArray();
        new Random(seed).Shuffle(order);
        return order.Take(Math.Min(count, slices.Count)).Order().Select(i => slices[i]).ToList();
    }
}
