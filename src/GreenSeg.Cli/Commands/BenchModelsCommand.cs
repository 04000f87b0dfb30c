using System.ComponentModel;
using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Benchmarks;
using GreenSeg.Models;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class BenchModelsSettings : CommandSettings
{
    [CommandOption("--models <NAMES>")]
    [Description("Comma-separated model names (default: every model).")]
    public string? Models { get; init; }

    [CommandOption("--batch <N>")]
    [Description("Slices per step.")]
    [DefaultValue(8)]
    public int Batch { get; init; } = 8;

    [CommandOption("--steps <N>")]
    [Description("Timed steps per model and mode.")]
    [DefaultValue(5)]
    public int Steps { get; init; } = 5;

    [CommandOption("--warmup <N>")]
    [Description("Untimed warm-up steps before them.")]
    [DefaultValue(2)]
    public int Warmup { get; init; } = 2;

    [CommandOption("--size <PIXELS>")]
    [Description("Square slice side.")]
    [DefaultValue(256)]
    public int Size { get; init; } = 256;

    [CommandOption("--threads <N>")]
    [Description("libtorch threads (0: libtorch's choice; 1 gives steadier figures on a busy machine).")]
    [DefaultValue(0)]
    public int Threads { get; init; }
}

/// <summary>greenseg bench models: forward+backward time per slice, fp32/NCHW beside bf16-compute/channels-last.</summary>
public sealed class BenchModelsCommand : Command<BenchModelsSettings>
{
    public override int Execute(CommandContext context, BenchModelsSettings settings, CancellationToken cancellationToken)
    {
        var names = string.IsNullOrWhiteSpace(settings.Models)
            ? ModelRegistry.Names
            : settings.Models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(n => ModelRegistry.Describe(n).Name).ToArray();
        var options = new ModelSpeedOptions
        {
            Batch = settings.Batch, Steps = settings.Steps, WarmupSteps = settings.Warmup, Size = settings.Size,
        };
        int threads = TorchRuntime.ConfigureThreads(settings.Threads);

        var results = new List<ModelSpeedResult>();
        foreach (var name in names)
        {
            Console.Error.WriteLine($"timing {name} ...");
            results.Add(ModelSpeedBenchmark.Run(name, options, cancellationToken));
        }

        string Ms(double value) => value.ToString("F1", CultureInfo.InvariantCulture);
        ConsoleTable.Line($"forward+backward per {settings.Size}x{settings.Size} slice, batch {settings.Batch}, median of {settings.Steps} steps after {settings.Warmup} warm-up, {threads} thread(s)");
        ConsoleTable.Write(
            ["model", "parameters", $"{ComputeSettings.Reference} ms/slice", $"{ComputeSettings.Fast} ms/slice", "speedup"],
            results.Select(r => new[]
            {
                r.Model, Format.Millions(r.Parameters), Ms(r.Reference.MillisecondsPerSlice), Ms(r.Fast.MillisecondsPerSlice),
                r.Speedup.ToString("F2", CultureInfo.InvariantCulture) + "x",
            }), 1, 2, 3, 4);
        return 0;
    }
}
