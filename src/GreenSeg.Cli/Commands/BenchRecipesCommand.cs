using System.ComponentModel;
using System.Globalization;
using GreenSeg.Benchmarks;
using GreenSeg.Common;
using GreenSeg.Studies.Reporting;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class BenchRecipesSettings : CommandSettings
{
    [CommandOption("--scale <SCALE>")]
    [Description("techniques: the techniques preset's recipes at its reduced scale, the compute peak, data wait and inference (default); study: the study's baseline as it ran (unet 64, 256x256 at 1 mm, fp32 NCHW, no cache, no prefetch, Adam) against the default recipe, time and energy per slice and per epoch. --size, --batches, --repeats, --inference-models and --only apply to techniques only.")]
    [TypeConverter(typeof(ChoiceConverter<RecipeBenchmarkScale>))]
    [ChoiceDefault<RecipeBenchmarkScale>(RecipeBenchmarkScale.Techniques)]
    public RecipeBenchmarkScale Scale { get; init; } = RecipeBenchmarkScale.Techniques;

    [CommandOption("--slices <N>")]
    [Description("--scale study: slices timed per recipe after a one-batch warm-up, rounded up to whole batches (default 200).")]
    public int? Slices { get; init; }

    [CommandOption("--data <PATH>")]
    [Description("Dataset whose slices the recipes train on (default: a small temporary phantom).")]
    public string? Data { get; init; }

    [CommandOption("--size <PIXELS>")]
    [Description("Network input side of the recipes (default: the techniques preset's, 128).")]
    public int? Size { get; init; }

    [CommandOption("--batches <N>")]
    [Description("Batches per timed pass; each recipe makes a cold and a warm pass (default 4).")]
    public int? Batches { get; init; }

    [CommandOption("--repeats <N>")]
    [Description("Timed repeats of each kernel (default 3; inference uses one fewer).")]
    public int? Repeats { get; init; }

    [CommandOption("--inference-models <NAMES>")]
    [Description("Comma-separated models to time per 256x256x40 stack (default att-squeeze-unet; untrained weights).")]
    public string? InferenceModels { get; init; }

    [CommandOption("--only <SECTIONS>")]
    [Description("Comma-separated sections: recipes, peak, data-wait, inference (default: all).")]
    public string? Only { get; init; }

    [CommandOption("--threads <N>")]
    [Description("libtorch threads (default: libtorch's choice).")]
    [DefaultValue(0)]
    public int Threads { get; init; }

    public override ValidationResult Validate()
    {
        if (Scale == RecipeBenchmarkScale.Study)
        {
            var techniquesOnly = new (string Option, bool Given)[]
            {
                ("--size", Size is not null), ("--batches", Batches is not null), ("--repeats", Repeats is not null),
                ("--inference-models", InferenceModels is not null), ("--only", Only is not null),
            }.Where(o => o.Given).Select(o => o.Option).ToList();
            if (techniquesOnly.Count > 0)
                return ValidationResult.Error($"{string.Join(", ", techniquesOnly)}: not used by --scale study (its sizes are the recipes' own; it times --slices slices per recipe)");
            return Slices < 1 ? ValidationResult.Error("--slices must be at least 1") : ValidationResult.Success();
        }
        if (Slices is not null) return ValidationResult.Error("--slices: only for --scale study (--scale techniques times --batches batches per recipe)");
        if (Batches < 1) return ValidationResult.Error("--batches must be at least 1");
        if (Repeats < 1) return ValidationResult.Error("--repeats must be at least 1");
        var unknown = Sections().Except(AllSections).ToList();
        return unknown.Count > 0 ? ValidationResult.Error($"--only: unknown section(s) {string.Join(", ", unknown)}; expected {string.Join(", ", AllSections)}") : ValidationResult.Success();
    }

    internal static readonly string[] AllSections = ["recipes", "peak", "data-wait", "inference"];

    internal IReadOnlyList<string> Sections() => Only is null ? AllSections : Only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>greenseg bench recipes: the study's recipes, the compute peak, data wait and inference, side by side in one run.</summary>
public sealed class BenchRecipesCommand : Command<BenchRecipesSettings>
{
    public override int Execute(CommandContext context, BenchRecipesSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Scale == RecipeBenchmarkScale.Study)
        {
            var scaleDefaults = new StudyScaleOptions();
            PrintStudyScale(StudyScaleBenchmark.Run(new StudyScaleOptions
            {
                Data = settings.Data,
                Slices = settings.Slices ?? scaleDefaults.Slices,
                Threads = settings.Threads,
            }, line => Console.Error.WriteLine(line), cancellationToken));
            return 0;
        }

        var sections = settings.Sections();
        var defaults = new StudyBenchmarkOptions();
        var result = StudyBenchmark.Run(new StudyBenchmarkOptions
        {
            Data = settings.Data,
            Size = settings.Size,
            Batches = settings.Batches ?? defaults.Batches,
            Repeats = settings.Repeats ?? defaults.Repeats,
            Threads = settings.Threads,
            InferenceModels = settings.InferenceModels?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? ["att-squeeze-unet"],
            Recipes = sections.Contains("recipes"),
            Peak = sections.Contains("peak"),
            DataWait = sections.Contains("data-wait"),
            Inference = sections.Contains("inference"),
        }, line => Console.Error.WriteLine(line), cancellationToken);

        ConsoleTable.Line($"{result.Threads} torch thread(s); training slices from {result.Data}");
        PrintPeak(result);
        PrintRecipes(result);
        PrintDataWait(result);
        PrintInference(result);
        return 0;
    }

    private static string F(double value, int decimals) => ReportFormat.Number(value, decimals);

    private static void PrintStudyScale(StudyScaleResult result)
    {
        string origin = result.EnergyOrigin;
        ConsoleTable.Line($"{result.Threads} torch thread(s); training slices from {result.Data}");
        ConsoleTable.Line("");
        ConsoleTable.Line($"The study's baseline as it ran against the default recipe, on the same slices after an untimed one-batch warm-up; " +
            $"an epoch-equivalent is the dataset's {result.EpochSlices} training slices (per-slice figure x {result.EpochSlices}); energy {origin}");
        var rows = new[] { result.Baseline, result.Green }.Select(r => new[]
        {
            r.Recipe, r.Settings, r.Pass.Slices.ToString(CultureInfo.InvariantCulture), F(r.Pass.SecondsPerSlice, 3), F(r.Pass.JoulesPerSlice, 1),
            F(r.SecondsPerEpoch, 1), F(r.KilojoulesPerEpoch, 2),
        }).Append(["baseline / green", "", "", "", "", ReportFormat.Factor(result.TimeRatio), ReportFormat.Factor(result.EnergyRatio)]);
        ConsoleTable.Write(["recipe", "settings", "slices timed", "s/slice", $"J/slice ({origin})", "s/epoch", $"kJ/epoch ({origin})"], rows, 2, 3, 4, 5, 6);
        ConsoleTable.Line($"issue target: >= {F(StudyScaleResult.TargetEnergyRatio, 0)}x less energy per epoch: {ReportFormat.Factor(result.EnergyRatio)} {origin}, {(result.MeetsTarget ? "met" : "not met")}");
        ConsoleTable.Line("The default's memory cache holds only what its warm-up read (and prefetched), so its timed pass reads most slices from NIfTI, as a first epoch does; later epochs cost it less.");
    }

    private static void PrintPeak(StudyBenchmarkResult result)
    {
        if (result.Matmuls.Count == 0) return;
        ConsoleTable.Line("");
        ConsoleTable.Line("Compute peak: matrix multiply, and one 3x3 convolution layer (forward) per compute mode");
        ConsoleTable.Write(["kernel", "mode", "ms", "GFLOP/s", "% of matmul peak"],
            result.Matmuls.Concat(result.Convolutions).Select(k => new[]
            {
                k.Kernel, k.Mode, F(k.MedianSeconds * 1000, 1), F(k.Gigaflops, 1),
                result.PeakFor(k.Mode) is { } peak ? ReportFormat.Percent(k.Gigaflops / peak.Gigaflops) : "-",
            }), 2, 3, 4);
    }

    private static void PrintRecipes(StudyBenchmarkResult result)
    {
        if (result.Recipes.Count == 0) return;
        var baseline = result.Recipes[0];
        ConsoleTable.Line("");
        ConsoleTable.Line($"Training throughput per recipe (techniques preset; warm pass of {baseline.Warm.Slices} slices after a cold one; effective conv GFLOP/s = 6 x MACs x slices/s)");
        ConsoleTable.Write(["recipe", "model", "slices/s", "vs baseline", "cold slices/s", "data wait", "GMACs/slice", "conv GFLOP/s", "% of matmul peak"],
            result.Recipes.Select(r => new[]
            {
                r.Recipe, r.Options.Model, F(r.Warm.SlicesPerSecond, 2), ReportFormat.Factor(r.Warm.SlicesPerSecond / baseline.Warm.SlicesPerSecond),
                F(r.Cold.SlicesPerSecond, 2), ReportFormat.Percent(r.Warm.DataWaitShare), F(r.MacsPerSlice / 1e9, 3), F(r.EffectiveGigaflops, 1),
                result.PeakFor(ChoiceNames.Name(r.Options.Compute.Precision)) is { } peak ? ReportFormat.Percent(r.EffectiveGigaflops / peak.Gigaflops) : "-",
            }), 2, 3, 4, 5, 6, 7, 8);
        foreach (string recipe in result.OneOffRecipes)
            ConsoleTable.Line($"not timed: {recipe}: same step cost as the baseline; its cost is a one-off (the LR finder's sweep), counted by greenseg study");
    }

    private static void PrintDataWait(StudyBenchmarkResult result)
    {
        if (result.DataWait.Count == 0) return;
        var first = result.DataWait[0];
        ConsoleTable.Line("");
        ConsoleTable.Line($"Data wait per cache mode ({first.Options.Model}, {ChoiceNames.Name(first.Options.Compute.Precision)}{(first.Options.Compute.ChannelsLast ? ", channels-last" : "")}; share of the pass spent waiting for batches)");
        ConsoleTable.Write(["cache", "prefetch", "cold: data wait", "warm: data wait", "warm slices/s"],
            result.DataWait.Select(r => new[]
            {
                ChoiceNames.Name(r.Options.Loading.Cache), r.Options.Loading.Prefetch.ToString(CultureInfo.InvariantCulture), ReportFormat.Percent(r.Cold.DataWaitShare),
                ReportFormat.Percent(r.Warm.DataWaitShare), F(r.Warm.SlicesPerSecond, 2),
            }), 1, 2, 3, 4);
    }

    private static void PrintInference(StudyBenchmarkResult result)
    {
        if (result.Inference.Count == 0) return;
        var first = result.Inference[0];
        ConsoleTable.Line("");
        ConsoleTable.Line($"Inference per {first.Size}x{first.Size}x{first.Slices} stack (greenseg segment's path: preprocessing, network, inverse, post-processing; untrained weights)");
        ConsoleTable.Write(["model", "mode", "s/stack", "ms/slice"],
            result.Inference.Select(i => new[] { i.Model, i.Mode, F(i.MedianSeconds, 2), F(i.MillisecondsPerSlice, 1) }), 2, 3);
    }
}
