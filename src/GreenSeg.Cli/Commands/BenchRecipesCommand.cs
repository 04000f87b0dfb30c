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
    [CommandOption("--data <PATH>")]
    [Description("Dataset whose slices the recipes train on (default: a small temporary phantom).")]
    public string? Data { get; init; }

    [CommandOption("--size <PIXELS>")]
    [Description("Network input side of the recipes (default: the techniques preset's, 128).")]
    public int? Size { get; init; }

    [CommandOption("--batches <N>")]
    [Description("Batches per timed pass; each recipe makes a cold and a warm pass (default 4).")]
    [DefaultValue(4)]
    public int Batches { get; init; } = 4;

    [CommandOption("--repeats <N>")]
    [Description("Timed repeats of each kernel (default 3; inference uses one fewer).")]
    [DefaultValue(3)]
    public int Repeats { get; init; } = 3;

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
        var sections = settings.Sections();
        var result = StudyBenchmark.Run(new StudyBenchmarkOptions
        {
            Data = settings.Data,
            Size = settings.Size,
            Batches = settings.Batches,
            Repeats = settings.Repeats,
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
