using System.Globalization;
using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Studies.Reporting;
using GreenSeg.Training;

namespace GreenSeg.Benchmarks;

/// <summary>What <c>greenseg bench recipes</c> compares (its <c>--scale</c>).</summary>
public enum RecipeBenchmarkScale
{
    /// <summary>The techniques preset's recipes at the preset's reduced scale, with the compute peak, data wait and inference (<see cref="StudyBenchmark"/>).</summary>
    [EnumMember(Value = "techniques")] Techniques,
    /// <summary>The study's baseline as the study ran it against GreenSeg's default recipe, per slice and per epoch (<see cref="StudyScaleBenchmark"/>).</summary>
    [EnumMember(Value = "study")] Study,
}

public sealed record StudyScaleOptions
{
    /// <summary>Dataset whose training slices both recipes train on; null writes a small phantom to a temporary folder.</summary>
    public string? Data { get; init; }
    /// <summary>Slices timed per recipe after a one-batch warm-up, rounded up to whole batches (fewer where the dataset has fewer).</summary>
    public int Slices { get; init; } = 200;
    public int Threads { get; init; }
    /// <summary>Replaces both recipes' input side (null: each recipe's own); for tests that cannot afford 256x256 steps of U-Net 64.</summary>
    public int? Size { get; init; }
}

/// <summary>One recipe's timed pass and its figures per slice and per epoch-equivalent (the dataset's training slices).</summary>
public sealed record StudyScaleRow(string Recipe, RecipeTiming Timing, int EpochSlices)
{
    public EpochTiming Pass => Timing.Warm;
    public double SecondsPerEpoch => Pass.SecondsPerSlice * EpochSlices;
    public double KilojoulesPerEpoch => Pass.JoulesPerSlice * EpochSlices / 1000;

    /// <summary>The recipe's settings in words, with the compute mode it resolved to here.</summary>
    public string Settings
    {
        get
        {
            var options = Timing.Options;
            string width = options.ModelWidth is int w ? $" width {w}" : "";
            return string.Create(CultureInfo.InvariantCulture,
                $"{options.Model}{width} ({ReportFormat.Millions(Timing.Parameters)} parameters), {options.Preprocessing.Size}x{options.Preprocessing.Size} at {options.Preprocessing.Spacing} mm, " +
                $"batch {Timing.BatchSize}, {Timing.Compute}, cache {ChoiceNames.Name(options.Loading.Cache)}, prefetch {options.Loading.Prefetch}, " +
                $"{ChoiceNames.Name(options.Optimisation.Optimizer)} {options.Optimisation.LearningRate}");
        }
    }
}

public sealed record StudyScaleResult(int Threads, string Data, int EpochSlices, StudyScaleRow Baseline, StudyScaleRow Green)
{
    /// <summary>The target: the default recipe spends at least this many times less energy per epoch than the study's baseline.</summary>
    public const double TargetEnergyRatio = 20;

    /// <summary>Baseline over green seconds per epoch (null when the green pass took no time).</summary>
    public double? TimeRatio => Green.SecondsPerEpoch > 0 ? Baseline.SecondsPerEpoch / Green.SecondsPerEpoch : null;
    /// <summary>Baseline over green energy per epoch (null when the green pass was not metered).</summary>
    public double? EnergyRatio => Green.KilojoulesPerEpoch > 0 ? Baseline.KilojoulesPerEpoch / Green.KilojoulesPerEpoch : null;
    public bool MeetsTarget => EnergyRatio >= TargetEnergyRatio;
    /// <summary>"estimated" when either pass's energy is a model's estimate, else "measured".</summary>
    public string EnergyOrigin => new[] { Baseline, Green }.Any(r => r.Pass.Energy?.AnyEstimated ?? true) ? "estimated" : "measured";
}

/// <summary>
/// <c>greenseg bench recipes --scale study</c>: the study's headline ratio at the study's true scale. The study's baseline as
/// it ran (U-Net 64, 256x256 at 1 mm, fp32 NCHW, every sample read from NIfTI, no prefetch, Adam) and GreenSeg's default
/// recipe exactly as <c>greenseg train</c> uses it, each timed and metered over the same seeded slices after a one-batch
/// warm-up, then scaled to an epoch of the dataset's training slices. The techniques study itself runs a reduced baseline
/// (U-Net 16 at 128x128) to fit its time budget; this measures the full one for a few hundred slices instead of whole epochs.
/// </summary>
public static class StudyScaleBenchmark
{
    /// <summary>The study's baseline as the study ran it: <see cref="TrainingOptions.Baseline"/> at 256x256 and 1 mm.</summary>
    public static TrainingOptions Baseline(string data)
    {
        var baseline = TrainingOptions.Baseline(data);
        return baseline with { Preprocessing = baseline.Preprocessing with { Size = 256, Spacing = 1.0 } };
    }

    /// <summary>GreenSeg's default recipe: what <c>greenseg train --data DATA</c> trains with no other option.</summary>
    public static TrainingOptions GreenDefault(string data) => new() { Data = data };

    public static StudyScaleResult Run(StudyScaleOptions options, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (options.Slices < 1) throw new GreenSegException($"benchmark: slices must be at least 1, got {options.Slices}");
        progress ??= _ => { };
        int threads = TorchRuntime.ConfigureThreads(options.Threads);
        return StudyBenchmark.OnData(options.Data, progress, data =>
        {
            var slices = DatasetReader.Open(data).TrainingStacks.SelectMany(s => s.Slices).ToList();
            var baseline = Sized(Baseline(data), options.Size);
            var green = Sized(GreenDefault(data), options.Size);
            using var energy = EnergySession.Start(green.ToEnergyOptions(TorchRuntime.ResolveDevice(green.Compute.Device)), "bench recipes --scale study");

            StudyScaleRow Time(string recipe, TrainingOptions recipeOptions)
            {
                progress($"timing {recipe}: {options.Slices} slices after a one-batch warm-up ...");
                int batchSize = TrainingThroughputBenchmark.BatchSize(recipeOptions);
                int batches = (options.Slices + batchSize - 1) / batchSize;
                var timing = TrainingThroughputBenchmark.Measure(recipe, "", recipeOptions, slices, batches, coldBatches: 1, energy.Monitor, cancellationToken);
                return new StudyScaleRow(recipe, timing, slices.Count);
            }

            var baselineRow = Time("baseline", baseline);
            return new StudyScaleResult(threads, StudyBenchmark.DataLabel(options.Data), slices.Count, baselineRow, Time("green default", green));
        });
    }

    private static TrainingOptions Sized(TrainingOptions options, int? size) =>
        size is int side ? options with { Preprocessing = options.Preprocessing with { Size = side } } : options;
}
