using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Phantom;
using GreenSeg.Training;
using static TorchSharp.torch;

namespace GreenSeg.Benchmarks;

/// <summary>
/// How to time `greenseg segment`'s core: one stack, segmented Stacks times after one warm-up. By
/// default a phantom stack of Slices x Size x Size through a randomly initialised Model; a trained
/// <see cref="Checkpoint"/> and a real <see cref="Stack"/> replace either.
/// </summary>
public sealed record InferenceSpeedOptions
{
    public string Model { get; init; } = "att-squeeze-unet";
    /// <summary>A run folder, checkpoint folder or model.pt to time instead of random weights of <see cref="Model"/>.</summary>
    public string? Checkpoint { get; init; }
    /// <summary>A NIfTI stack to segment (whole) instead of the phantom stack.</summary>
    public string? Stack { get; init; }
    public int Stacks { get; init; } = 3;
    public int Slices { get; init; } = 40;
    public int Size { get; init; } = 256;
    public int BatchSize { get; init; } = 8;
    public int Seed { get; init; }
    /// <summary>
    /// The modes to time (by their names, e.g. fp32/NCHW, onnx/int8); null: every one of <see cref="InferenceSpeedBenchmark.Modes"/>,
    /// except the torch bf16 modes where bf16 has no hardware path (<see cref="InferenceSpeedBenchmark.SkipsBf16ByDefault"/>).
    /// </summary>
    public IReadOnlyList<string>? Modes { get; init; }

    /// <summary>The modes asked for, in the benchmark's order; an unknown name is refused with the known ones.</summary>
    internal IReadOnlyList<InferenceMode> SelectedModes()
    {
        if (Modes is null)
            return InferenceSpeedBenchmark.SkipsBf16ByDefault ? [.. InferenceSpeedBenchmark.Modes.Where(m => !m.IsTorchBf16)] : InferenceSpeedBenchmark.Modes;
        var unknown = Modes.Where(m => !InferenceSpeedBenchmark.Modes.Any(k => string.Equals(k.ToString(), m.Trim(), StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0 || Modes.Count == 0)
            throw new GreenSegException($"benchmark: unknown mode(s) {string.Join(", ", unknown)}; expected some of {string.Join(", ", InferenceSpeedBenchmark.Modes)}");
        return InferenceSpeedBenchmark.Modes.Where(k => Modes.Any(m => string.Equals(k.ToString(), m.Trim(), StringComparison.OrdinalIgnoreCase))).ToList();
    }

    internal void Validate()
    {
        if (Stacks < 1) throw new GreenSegException($"benchmark: stacks must be at least 1, got {Stacks}");
        if (Slices < 1) throw new GreenSegException($"benchmark: slices must be at least 1, got {Slices}");
        if (Size < 16) throw new GreenSegException($"benchmark: size must be at least 16, got {Size}");
        if (BatchSize < 1) throw new GreenSegException($"benchmark: batch size must be at least 1, got {BatchSize}");
        SelectedModes();
    }
}

/// <summary>
/// An engine, an inference precision (<see cref="InferencePrecision"/> on torch; fp32 or int8 on onnx) and, on torch, a
/// memory layout.
/// </summary>
public sealed record InferenceMode(string Precision, bool ChannelsLast, InferenceEngine Engine = InferenceEngine.Torch)
{
    public bool IsTorchBf16 => Engine == InferenceEngine.Torch && Precision is InferencePrecision.Bf16Mixed or InferencePrecision.Bf16Pure;

    public override string ToString() => Engine == InferenceEngine.Onnx
        ? $"onnx/{Precision}"
        : $"{Precision}/{(ChannelsLast ? "channels-last" : "NCHW")}";
}

/// <summary>One compute mode: the model load and every timed stack, with the process's peak memory after it.</summary>

public sealed record InferenceSpeedMeasurement(InferenceMode Mode, TimeSpan ModelLoad, IReadOnlyList<StackSegmentationTime> Stacks, double PeakWorkingSetMb)
{
    public double MedianSeconds => Median(s => s.Elapsed.TotalSeconds);
    public double MedianNetworkSeconds => Median(s => s.Timings.Network.TotalSeconds);
    public double MedianPrepareSeconds => Median(s => s.Timings.Prepare.TotalSeconds);
    public double MedianRestoreSeconds => Median(s => s.Timings.Restore.TotalSeconds);
    public double MedianPostProcessSeconds => Median(s => s.Timings.PostProcess.TotalSeconds);

    private double Median(Func<StackSegmentationTime, double> value) => Evaluation.Statistics.Median([.. Stacks.Select(value)]);
}

/// <summary>The time of one segmented stack and where it went.</summary>
public sealed record StackSegmentationTime(TimeSpan Elapsed, SegmentationTimings Timings);

/// <param name="Weights">"random weights" or the checkpoint timed.</param>
/// <param name="Input">The stack segmented: the phantom's, or the file given.</param>
public sealed record InferenceSpeedResult(string Model, long Parameters, string Weights, string Input, int Slices, int Threads,
    IReadOnlyList<InferenceSpeedMeasurement> Modes);

/// <summary>
/// Times <see cref="Segmenter.Segment"/> (slice preparation, network, inverse mapping, threshold and
/// post-processing; reading and writing files excluded) on a phantom T2W stack repeated to the asked
/// number of slices, in the <see cref="Modes"/>. The model is randomly initialised
/// (the time does not depend on the weights) and goes through a real checkpoint, so loading is timed
/// as `greenseg segment` does it, and reported apart.
/// </summary>
public static class InferenceSpeedBenchmark
{
    /// <summary>
    /// From the reference (fp32, NCHW) through the training's compute (bf16-mixed) to the inference default (bf16-pure,
    /// channels-last), then ONNX Runtime on the exported model in fp32 and in int8 (quantised as it loads, calibrated on
    /// <see cref="OnnxCalibrationSlices"/> slices of the timed stack: the load time includes export and calibration).
    /// </summary>
    /// <summary>
    /// Where bf16 has no hardware path (under the AVX2 cap) the torch bf16 modes run about 20x slower than fp32 and libtorch
    /// warns on every convolution that NNPACK cannot start: the default set leaves them out; --modes still times them.
    /// </summary>
    public static bool SkipsBf16ByDefault => !TorchRuntime.Bf16InHardware(TorchSharp.torch.CPU);

    public static IReadOnlyList<InferenceMode> Modes { get; } =
    [
        new(InferencePrecision.Fp32, false),
        new(InferencePrecision.Fp32, true),
        new(InferencePrecision.Bf16Mixed, true),
        new(InferencePrecision.Bf16Pure, false),
        new(InferencePrecision.Bf16Pure, true),
        new(InferencePrecision.Fp32, false, InferenceEngine.Onnx),
        new(Int8, false, InferenceEngine.Onnx),
    ];

    public const string Int8 = "int8";
    public const int OnnxCalibrationSlices = 16;

    public static InferenceSpeedResult Run(InferenceSpeedOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var stack = options.Stack is null ? PhantomTimingStack.Create(options.Slices, options.Size) : NiftiImage.Read(options.Stack);
        string input = $"{(options.Stack is null ? "phantom stack" : Path.GetFileName(options.Stack))} {stack.SizeX}x{stack.SizeY}x{stack.SizeZ}";
        string scratch = Directory.CreateTempSubdirectory("greenseg-bench-inference-").FullName;
        try
        {
            // int8 calibrates on the timed stack itself (any slices of the kind the network sees do for timing).
            string calibration = options.Stack ?? Path.Combine(scratch, "calibration.nii.gz");
            if (options.Stack is null) stack.Write(calibration);
            if (options.Checkpoint is not null)
            {
                var (manifest, _) = CheckpointManifest.Locate(options.Checkpoint);
                using var model = manifest.CreateModel();
                return Result(options.Checkpoint, calibration, ModelRegistry.Describe(manifest.Model).Name, model.ParameterCount(),
                    $"trained weights ({manifest.Size}x{manifest.Size} at {manifest.Spacing:0.##} mm, epoch {manifest.Epoch})");
            }
            string checkpoint = Path.Combine(scratch, "checkpoint");
            Directory.CreateDirectory(checkpoint);
            long parameters = WriteRandomCheckpoint(options, checkpoint);
            return Result(checkpoint, calibration, ModelRegistry.Describe(options.Model).Name, parameters, "random weights");
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }

        InferenceSpeedResult Result(string weights, string calibration, string model, long parameters, string description)
        {
            var modes = options.SelectedModes().Select(mode => Measure(weights, stack, mode, options, cancellationToken, calibration)).ToList();
            return new InferenceSpeedResult(model, parameters, description, input, stack.SizeZ, get_num_threads(), modes);
        }
    }

    /// <param name="calibration">The data int8 calibrates on (a dataset or a stack file); needed for the int8 mode only.</param>
    public static InferenceSpeedMeasurement Measure(string checkpoint, NiftiImage stack, InferenceMode mode, InferenceSpeedOptions options,
        CancellationToken cancellationToken = default, string? calibration = null)
    {
        using var segmenter = Segmenter.Load(checkpoint, new SegmentOptions
        {
            // One network pass per slice: the modes' speeds, not test-time augmentation's multiple.
            Tta = TestTimeAugmentation.None,
            Precision = mode.Precision,
            ChannelsLast = mode.ChannelsLast,
            BatchSize = options.BatchSize,
            Engine = mode.Engine,
            Threads = mode.Engine == InferenceEngine.Onnx ? get_num_threads() : 0,
            Calibration = mode.Precision == Int8 && calibration is not null ? new CalibrationOptions { Data = calibration, Slices = OnnxCalibrationSlices } : null,
        });
        var times = new List<StackSegmentationTime>();
        for (int run = 0; run <= options.Stacks; run++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = segmenter.Segment(stack);
            // The first stack warms libtorch up (allocator, kernels) and is not timed.
            if (run > 0) times.Add(new StackSegmentationTime(result.Elapsed, result.Timings));
        }
        using var process = Process.GetCurrentProcess();
        return new InferenceSpeedMeasurement(mode, segmenter.LoadTime, times, process.PeakWorkingSet64 / (1024.0 * 1024.0));
    }

    private static long WriteRandomCheckpoint(InferenceSpeedOptions options, string folder)
    {
        manual_seed(options.Seed);
        using var model = ModelRegistry.Create(options.Model);
        ModelWeights.Save(model, Path.Combine(folder, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = model.ModelName, Spacing = 1.0, Size = options.Size, TrainedWith = "random initialisation (benchmark)" }.Save(folder);
        return model.ParameterCount();
    }
}
