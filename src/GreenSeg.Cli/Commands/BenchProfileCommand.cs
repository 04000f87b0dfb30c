using System.ComponentModel;
using System.Globalization;
using GreenSeg.Benchmarks;
using GreenSeg.Common;
using GreenSeg.Models;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace GreenSeg.Cli.Commands;

public sealed class BenchProfileSettings : CommandSettings
{
    [CommandOption("-m|--model <NAME>")] [DefaultValue("att-squeeze-unet")]
    public string Model { get; init; } = "att-squeeze-unet";
    [CommandOption("--model-width <N>")] [Description("Base width (default: the architecture's own).")]
    public int? Width { get; init; }
    [CommandOption("--first-stage-width <N>")] [Description("Width of a U-Net's full-resolution stage (default: the base width).")]
    public int? FirstStageWidth { get; init; }
    [CommandOption("--size <PIXELS>")] [DefaultValue(128)]
    public int Size { get; init; } = 128;
    [CommandOption("-b|--batch-size <N>")] [DefaultValue(8)]
    public int BatchSize { get; init; } = 8;
    [CommandOption("--steps <N>")] [Description("Timed steps after 2 warm-up steps; medians are reported.")] [DefaultValue(5)]
    public int Steps { get; init; } = 5;
    [CommandOption("--precision <MODE>")] [Description("fp32 | bf16-mixed | auto (the convolutions' compute precision).")] [DefaultValue("bf16-mixed")]
    public string Precision { get; init; } = "bf16-mixed";
    [CommandOption("--nchw")] [Description("Keep NCHW (default: channels-last, as training).")]
    public bool Nchw { get; init; }
    [CommandOption("--threads <N>")] [Description("libtorch threads (0: libtorch's default).")] [DefaultValue(0)]
    public int Threads { get; init; }
}

/// <summary>greenseg bench profile: where one training step of a network goes, per kind of layer, forward and backward.</summary>
public sealed class BenchProfileCommand : Command<BenchProfileSettings>
{
    public override int Execute(CommandContext context, BenchProfileSettings settings, CancellationToken cancellationToken)
    {
        int threads = TorchRuntime.ConfigureThreads(settings.Threads);
        var compute = new ComputeSettings(PrecisionOption.Parse(settings.Precision, CPU), ChannelsLast: !settings.Nchw);
        var result = LayerProfileBenchmark.Run(new LayerProfileOptions
        {
            Model = settings.Model, Width = settings.Width, FirstStageWidth = settings.FirstStageWidth, Size = settings.Size, Batch = settings.BatchSize, Steps = settings.Steps, Compute = compute,
        }, cancellationToken);

        double parts = result.Kinds.Sum(k => k.TotalMilliseconds);
        ConsoleTable.Line($"one training step of {result.Model} ({Format.Millions(result.Parameters)} parameters), batch {settings.BatchSize} of {settings.Size}², " +
            $"{compute.Precision}, {(compute.ChannelsLast ? "channels-last" : "NCHW")}, {threads} thread(s): median {F(result.StepMilliseconds)} ms over {settings.Steps} steps after 2 warm-up steps");
        ConsoleTable.Write(["work", "layers", "forward ms", "backward ms", "total ms", "share"],
            result.Kinds.OrderByDescending(k => k.TotalMilliseconds).Select(k => (IReadOnlyList<string>)
            [
                Label(k.Kind), k.Layers.ToString(CultureInfo.InvariantCulture),
                k.Kind == LayerKind.OptimizerStep ? "" : F(k.ForwardMilliseconds), k.Kind == LayerKind.OptimizerStep ? "" : F(k.BackwardMilliseconds),
                F(k.TotalMilliseconds), (100 * k.TotalMilliseconds / parts).ToString("0.0", CultureInfo.InvariantCulture) + " %",
            ]), 1, 2, 3, 4, 5);
        ConsoleTable.Line("forward: each layer from its pre-hook to its hook; between layers: concatenations, additions and resampling done outside " +
            "layers. backward: from the arrival of a layer output's gradient to the next arrival (a layer's backward, and any functional op just " +
            "before it in the forward). Convolution rows include their bf16 casts and layout views: compare with --precision fp32 and --nchw. " +
            $"The parts sum to {F(parts)} ms; the hooks themselves cost the rest of the step's {F(result.StepMilliseconds)} ms.");
        return 0;
    }

    private static string Label(LayerKind kind) => kind switch
    {
        LayerKind.Conv3x3 => "3x3 convolution",
        LayerKind.Conv1x1 => "1x1 convolution",
        LayerKind.ConvOther => "other convolution",
        LayerKind.TransposedConv => "transposed convolution",
        LayerKind.AttentionGate => "attention gate",
        LayerKind.BatchNorm => "BatchNorm",
        LayerKind.Activation => "activation",
        LayerKind.Pooling => "pooling",
        LayerKind.OtherLayer => "other layer",
        LayerKind.BetweenLayers => "between layers (cat, add, resample)",
        LayerKind.Loss => "loss",
        LayerKind.OptimizerStep => "optimizer step",
        _ => kind.ToString(),
    };

    private static string F(double milliseconds) => milliseconds.ToString("0.0", CultureInfo.InvariantCulture);
}
