using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Phantom;
using GreenSeg.Studies;
using GreenSeg.Training;
using static TorchSharp.torch;

namespace GreenSeg.Benchmarks;

public sealed record StudyBenchmarkOptions
{
    /// <summary>Dataset whose slices the training recipes read; null writes a small phantom to a temporary folder.</summary>
    public string? Data { get; init; }
    /// <summary>Network input side for the recipes (null: the techniques preset's).</summary>
    public int? Size { get; init; }
    /// <summary>Batches per timed pass (each recipe makes a cold and a warm pass).</summary>
    public int Batches { get; init; } = 4;
    public int Threads { get; init; }
    public int MatmulSize { get; init; } = 2048;
    public int Repeats { get; init; } = 3;
    public IReadOnlyList<string> InferenceModels { get; init; } = ["att-squeeze-unet"];
    public int InferenceDepth { get; init; } = 40;
    public bool Recipes { get; init; } = true;
    public bool Peak { get; init; } = true;
    public bool DataWait { get; init; } = true;
    public bool Inference { get; init; } = true;
}

public sealed record StudyBenchmarkResult(
    int Threads,
    string Data,
    IReadOnlyList<RecipeTiming> Recipes,
    IReadOnlyList<string> OneOffRecipes,
    IReadOnlyList<KernelTiming> Matmuls,
    IReadOnlyList<KernelTiming> Convolutions,
    IReadOnlyList<RecipeTiming> DataWait,
    IReadOnlyList<InferenceTiming> Inference)
{
    /// <summary>The matrix-multiply peak of the precision a compute mode uses (bf16 for the mixed modes).</summary>
    public KernelTiming? PeakFor(string precision) =>
        Matmuls.FirstOrDefault(m => m.Mode == (precision.StartsWith("fp32", StringComparison.Ordinal) ? "fp32" : "bf16"));
}

/// <summary>
/// <c>greenseg bench recipes</c>: in one process, so every figure shares the machine's state — training
/// throughput of the techniques study's recipes, the matmul peak and one convolution layer per compute
/// mode, data wait per cache mode with and without prefetch, and inference time per stack.
/// </summary>
public static class StudyBenchmark
{
    /// <summary>Changes that alter what a run learns or its one-off setup, not the cost of a training step.</summary>
    private static readonly HashSet<string> OneOffKeys = ["learning-rate", "lr-policy", "lr-finder-steps"];

    public static StudyBenchmarkResult Run(StudyBenchmarkOptions options, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        progress ??= _ => { };
        int threads = TorchRuntime.ConfigureThreads(options.Threads);
        return OnData(options.Data, progress, data =>
        {
            var plan = TechniquesPlan(data, options);
            var slices = options.Recipes || options.DataWait
                ? DatasetReader.Open(data).TrainingStacks.SelectMany(s => s.Slices).ToList()
                : [];

            var recipes = new List<RecipeTiming>();
            var oneOff = new List<string>();
            if (options.Recipes)
            {
                foreach (var run in plan.Runs)
                {
                    if (run.Changes.Count > 0 && run.Changes.All(c => OneOffKeys.Contains(c.Key)))
                    {
                        oneOff.Add($"{run.Name} ({run.ChangesText})");
                        continue;
                    }
                    progress($"timing recipe {run.Name} ...");
                    recipes.Add(TrainingThroughputBenchmark.Measure(run.Name, run.ChangesText, run.Options, slices, options.Batches, cancellationToken: cancellationToken));
                }
            }

            var matmuls = new List<KernelTiming>();
            var convolutions = new List<KernelTiming>();
            if (options.Peak)
            {
                progress("timing matmul and convolution peaks ...");
                matmuls.Add(ComputePeakBenchmark.Matmul(ScalarType.Float32, options.MatmulSize, options.Repeats));
                matmuls.Add(ComputePeakBenchmark.Matmul(ScalarType.BFloat16, options.MatmulSize, options.Repeats));
                foreach (var precision in new[] { Precision.Fp32, Precision.Bf16Mixed })
                foreach (bool channelsLast in new[] { false, true })
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    convolutions.Add(ComputePeakBenchmark.Convolution(new ComputeSettings(precision, channelsLast), repeats: options.Repeats));
                }
            }

            var dataWait = new List<RecipeTiming>();
            if (options.DataWait)
            {
                // The green recipe's model and compute, so the network is fast and data loading shows.
                var green = plan["green"].Options;
                foreach (var cache in Enum.GetValues<CacheMode>())
                foreach (int prefetch in new[] { 0, 2 })
                {
                    string name = cache.ToString().ToLowerInvariant();
                    progress($"timing data wait: cache {name}, prefetch {prefetch} ...");
                    dataWait.Add(TrainingThroughputBenchmark.Measure($"cache {name}, prefetch {prefetch}", "",
                        green with { Loading = green.Loading with { Cache = cache, Prefetch = prefetch } }, slices, options.Batches, cancellationToken: cancellationToken));
                }
            }

            var inference = new List<InferenceTiming>();
            if (options.Inference)
            {
                foreach (string model in options.InferenceModels)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress($"timing inference: {model} ...");
                    // The reference mode and `greenseg segment`'s default, from the inference benchmark's own set.
                    var timing = new InferenceSpeedOptions { Model = model, Slices = options.InferenceDepth, Stacks = Math.Max(1, options.Repeats - 1) };
                    var result = InferenceSpeedBenchmark.Run(timing, cancellationToken);
                    foreach (var measurement in new[] { result.Modes[0], result.Modes[^1] })
                        inference.Add(new InferenceTiming(result.Model, measurement.Mode.ToString(), timing.Size, result.Slices, measurement.MedianSeconds));
                }
            }
            return new StudyBenchmarkResult(threads, DataLabel(options.Data), recipes, oneOff, matmuls, convolutions, dataWait, inference);
        });
    }

    /// <summary>
    /// Runs <paramref name="measure"/> on <paramref name="data"/>, or, when it is null, on a small phantom written to a
    /// temporary folder that is removed afterwards.
    /// </summary>
    internal static T OnData<T>(string? data, Action<string> progress, Func<string, T> measure)
    {
        string? temporary = null;
        try
        {
            return measure(data ?? (temporary = WriteTemporaryPhantom(progress)));
        }
        finally
        {
            if (temporary is not null && Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }
    }

    /// <summary>The data a benchmark's table names: the dataset given, or the temporary phantom <see cref="OnData"/> writes.</summary>
    internal static string DataLabel(string? data) => data ?? "phantom (temporary: 1 T2W, 1 DWI, 1 FMRI stack)";

    /// <summary>The techniques preset's runs: the recipes the study compares, on the benchmark's data and size.</summary>
    private static StudyPlan TechniquesPlan(string data, StudyBenchmarkOptions options)
    {
        var overrides = new List<OptionSetting> { new("threads", options.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        if (options.Size is int size) overrides.Add(new OptionSetting("size", size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return StudyPlanner.Expand(StudyPresets.Load("techniques"), data, new StudyOverrides(overrides));
    }

    private static string WriteTemporaryPhantom(Action<string> progress)
    {
        progress("writing a small phantom dataset ...");
        string root = Path.Combine(Path.GetTempPath(), "greenseg-bench-data-" + Guid.NewGuid().ToString("N"));
        StudyData.WritePhantom(root, new PhantomOptions { TrainStacks = new StackCounts(1, 1, 1), TestStacks = new StackCounts(0, 0, 0) });
        return root;
    }
}

/// <summary>Seconds to segment one Size x Size x Slices stack with a model in one mode (median of the timed stacks).</summary>
public sealed record InferenceTiming(string Model, string Mode, int Size, int Slices, double MedianSeconds)
{
    public double MillisecondsPerSlice => MedianSeconds * 1000 / Slices;
}
