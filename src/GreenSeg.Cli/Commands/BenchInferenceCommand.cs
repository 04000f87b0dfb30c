using System.ComponentModel;
using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Benchmarks;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class BenchInferenceSettings : CommandSettings
{
    [CommandOption("-m|--model <NAME>")]
    [Description("Model to time, randomly initialised (the network's time does not depend on the weights; post-processing's does: --checkpoint times a trained model).")]
    [DefaultValue("att-squeeze-unet")]
    public string Model { get; init; } = "att-squeeze-unet";

    [CommandOption("--checkpoint <PATH>")]
    [Description("A trained model to time instead (run folder, checkpoint folder or model.pt); --model and --size are then its own.")]
    public string? Checkpoint { get; init; }

    [CommandOption("--stack <FILE>")]
    [Description("A NIfTI stack to segment, whole, instead of the phantom stack (--slices and --size then do not apply).")]
    public string? Stack { get; init; }

    [CommandOption("--stacks <N>")]
    [Description("Timed stacks per mode, after one untimed warm-up stack.")]
    [DefaultValue(3)]
    public int Stacks { get; init; } = 3;

    [CommandOption("--slices <N>")]
    [Description("Slices per stack (200 shows that memory stays bounded on long stacks).")]
    [DefaultValue(40)]
    public int Slices { get; init; } = 40;

    [CommandOption("--size <PIXELS>")]
    [Description("Stack side and network input side.")]
    [DefaultValue(256)]
    public int Size { get; init; } = 256;

    [CommandOption("-b|--batch-size <N>")]
    [Description("Slices per network call.")]
    [DefaultValue(8)]
    public int BatchSize { get; init; } = 8;

    [CommandOption("--modes <LIST>")]
    [Description("Comma-separated modes to time (default all, but the bf16 ones where bf16 has no hardware path): fp32/NCHW, fp32/channels-last, bf16-mixed/channels-last, bf16-pure/NCHW, bf16-pure/channels-last, onnx/fp32, onnx/int8.")]
    public string? Modes { get; init; }

    [CommandOption("--threads <N>")]
    [Description("libtorch threads, and ONNX Runtime's for the onnx rows (0: libtorch's default).")]
    [DefaultValue(0)]
    public int Threads { get; init; }
}

/// <summary>greenseg bench inference: seconds per stack, model load apart, from fp32/NCHW to bf16-pure/channels-last, and ONNX Runtime fp32 and int8.</summary>
public sealed class BenchInferenceCommand : Command<BenchInferenceSettings>
{
    public override int Execute(CommandContext context, BenchInferenceSettings settings, CancellationToken cancellationToken)
    {
        TorchRuntime.ConfigureThreads(settings.Threads);
        var result = InferenceSpeedBenchmark.Run(new InferenceSpeedOptions
        {
            Model = settings.Model, Checkpoint = settings.Checkpoint, Stack = settings.Stack,
            Stacks = settings.Stacks, Slices = settings.Slices, Size = settings.Size, BatchSize = settings.BatchSize,
            Modes = settings.Modes?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        }, cancellationToken);

        string S(double seconds) => seconds.ToString("F3", CultureInfo.InvariantCulture);
        ConsoleTable.Line($"segmenting one {result.Input} with {result.Model} ({Format.Millions(result.Parameters)} parameters, {result.Weights}), " +
            $"batch {settings.BatchSize}, {result.Threads} thread(s); median of {settings.Stacks} stack(s) after 1 warm-up; file reading and writing excluded");
        ConsoleTable.Write(
            ["mode", "model load s", "s/stack", "prepare s", "network s", "restore s", "post s", "ms/slice", "peak RSS MB"],
            result.Modes.Select(m => (IReadOnlyList<string>)
            [
                m.Mode.ToString(), S(m.ModelLoad.TotalSeconds), S(m.MedianSeconds), S(m.MedianPrepareSeconds), S(m.MedianNetworkSeconds),
                S(m.MedianRestoreSeconds), S(m.MedianPostProcessSeconds),
                (m.MedianSeconds * 1000 / result.Slices).ToString("F1", CultureInfo.InvariantCulture),
                m.PeakWorkingSetMb.ToString("F0", CultureInfo.InvariantCulture),
            ]), 1, 2, 3, 4, 5, 6, 7, 8);
        ConsoleTable.Line("prepare: slices to the network grid; restore: probabilities back to the stack's geometry; post: threshold, largest component, hole filling. " +
            "Peak RSS is the process's high-water mark so far. onnx rows: ONNX Runtime on the model exported in memory (opset 17); " +
            $"onnx int8's model load includes the export and the calibration on {InferenceSpeedBenchmark.OnnxCalibrationSlices} slices of the timed stack.");
        if (settings.Modes is null && InferenceSpeedBenchmark.SkipsBf16ByDefault)
            ConsoleTable.Line("bf16 modes not timed: bf16 has no hardware path here (about 20x slower than fp32); --modes bf16-mixed/channels-last,... times them.");
        return 0;
    }
}
