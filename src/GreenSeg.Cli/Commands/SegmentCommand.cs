using System.ComponentModel;
using GreenSeg.Transforms;
using GreenSeg.Inference;
using GreenSeg.Review;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class SegmentSettings : EnergySettings
{
    [CommandArgument(0, "<INPUT>")]
    [Description("NIfTI stacks or slices (.nii/.nii.gz), folders of them, or quoted globs such as 'scans/**/*.nii.gz'.")]
    public string[] Inputs { get; init; } = [];

    [CommandOption("-m|--model <RUN_DIR_OR_CHECKPOINT>")]
    [Description("A training run folder (its best checkpoint), a checkpoint folder, a model.pt with model.json beside it, a crossval output folder (its fold models as an ensemble: probabilities averaged), or a bundled model's name (greenseg models pretrained); default: the bundled fetal-brain-v4.")]
    public string? Model { get; init; }

    [CommandOption("-o|--out <DIR>")]
    [Description("Folder for the masks, inference.csv and emissions.csv; outputs never overwrite an input.")]
    public string? Out { get; init; }

    [CommandOption("--overwrite")]
    [Description("Replace masks that already exist in --out (by default such an input is refused: the file may be a reference mask).")]
    public bool Overwrite { get; init; }

    [CommandOption("--suffix <TEXT>")]
    [Description("Output names are <input stem><suffix>.nii.gz.")]
    [DefaultValue(SegmentationOutput.DefaultSuffix)]
    public string Suffix { get; init; } = SegmentationOutput.DefaultSuffix;

    [CommandOption("--threshold <P>")]
    [Description("Probability above which a voxel is brain.")]
    [DefaultValue(0.5f)]
    public float Threshold { get; init; } = 0.5f;

    [CommandOption("--tta <MIRRORS>")]
    [TypeConverter(typeof(ChoiceConverter<TestTimeAugmentation>))]
    [Description("Test-time augmentation: none | left-right (the default: also the left-right mirrored slice, probabilities averaged; twice the network's work, about 0.01 Dice gained on cross-validation) | flips (also the up-down and the both-ways mirror: four times the work, no better within the noise).")]
    [ChoiceDefault<TestTimeAugmentation>(TestTimeAugmentation.LeftRight)]
    public TestTimeAugmentation Tta { get; init; } = TestTimeAugmentation.LeftRight;

    [CommandOption("--views <VIEWS>")]
    [TypeConverter(typeof(ChoiceConverter<SegmentationViews>))]
    [Description("stored (the stored slices) | three-planes (also the planes cut across the stack's two other axes, probabilities averaged; for models trained with --multi-planar; 286 planes instead of 30 for a 128x128x30 stack).")]
    [ChoiceDefault<SegmentationViews>(SegmentationViews.Stored)]
    public SegmentationViews Views { get; init; } = SegmentationViews.Stored;

    [CommandOption("--no-postprocess")]
    [Description("Keep the thresholded mask as it is (default: keep the components the model's recipe keeps (a model whose model.json names none, from before recipes carried it: the largest 3D component) and fill holes per slice).")]
    public bool NoPostprocess { get; init; }

    [CommandOption("--components <WHICH>")]
    [TypeConverter(typeof(ChoiceConverter<ComponentSelection>))]
    [Description("Which connected components of the thresholded mask to keep: largest | large (every one of at least --min-component-share of the largest's voxels: the pieces of a brain split across slices by motion stay) | all. Default: the model's own (its recipe's postprocessing: section; largest for models that carry none).")]
    public ComponentSelection? Components { get; init; }

    [CommandOption("--min-component-share <SHARE>")]
    [Description("With --components large (implied when only this is given): the smallest component kept, as a share of the largest (default 0.1).")]
    public double? MinComponentShare { get; init; }

    [CommandOption("--no-fold-bn")]
    [Description("Keep each BatchNorm as its own layer (by default it is folded into the convolution before it: same masks, less work).")]
    public bool NoFoldBatchNorm { get; init; }

    [CommandOption("--preview")]
    [Description("Also write review.html and review/<stack>.png in --out: a mosaic of each stack's slices with the mask outlined, and flags for suspicious masks.")]
    public bool Preview { get; init; }

    [CommandOption("--probabilities")]
    [Description("Also write <stem>_prob.nii.gz: float32 brain probabilities.")]
    public bool Probabilities { get; init; }

    [CommandOption("-b|--batch-size <N>")]
    [Description("Slices per network call; memory is bounded by one batch whatever the stack's length.")]
    [DefaultValue(8)]
    public int BatchSize { get; init; } = 8;

    [CommandOption("--precision <P>")]
    [Description("On ONNX Runtime (the default engine on the CPU): auto (the model's own: fp32, or int8 for an int8 .onnx file) | fp32 | int8 (static int8 quantisation in QDQ form: an int8 .onnx file, or an fp32 model quantised as it loads with --calibration). On TorchSharp (chosen for these): auto (bf16-pure where bf16 runs in hardware, else fp32) | bf16-pure (weights and activations in bf16) | bf16-mixed (bf16 convolutions on fp32 weights, as training) | fp32.")]
    [DefaultValue(InferencePrecision.Auto)]
    public string Precision { get; init; } = InferencePrecision.Auto;

    [CommandOption("--channels-last <BOOL>")]
    [Description("NHWC memory layout for the convolutions.")]
    [DefaultValue(true)]
    public bool ChannelsLast { get; init; } = true;

    [CommandOption("--threads <N>")]
    [Description("The engine's threads: ONNX Runtime's intra-op threads, or libtorch's (0: the engine's default).")]
    [DefaultValue(0)]
    public int Threads { get; init; }

    [CommandOption("--engine <ENGINE>")]
    [Description("auto (ONNX Runtime on the CPU, about 5x faster than libtorch there; torch with --device cuda, a bf16 --precision or --no-fold-bn) | torch (TorchSharp) | onnx (ONNX Runtime on the model exported to ONNX: in memory from a run, checkpoint or crossval folder, or a .onnx file from greenseg export given to --model, its preprocessing read from its metadata).")]
    [DefaultValue(InferenceEngine.Auto)]
    public InferenceEngine Engine { get; init; } = InferenceEngine.Auto;

    [CommandOption("--calibration <DATA>")]
    [Description("--engine onnx --precision int8 on an fp32 model: the data whose slices calibrate the activation ranges as the model loads: a dataset (its training slices) or one NIfTI stack.")]
    public string? Calibration { get; init; }

    [CommandOption("--calibration-slices <N>")]
    [Description("Slices drawn evenly over the calibration data's stacks.")]
    [DefaultValue(64)]
    public int CalibrationSlices { get; init; } = 64;

    [CommandOption("--calibration-method <METHOD>")]
    [Description("minmax (each tensor's whole range) | percentile (99.99th percentile at each end).")]
    [DefaultValue(CalibrationMethod.MinMax)]
    public CalibrationMethod CalibrationMethod { get; init; } = CalibrationMethod.MinMax;

    [CommandOption("--device <DEVICE>")]
    [Description("cpu | cuda | cuda:N (with --engine onnx, cuda needs ONNX Runtime's GPU package, which this build does not have)")]
    [DefaultValue("cpu")]
    public string Device { get; init; } = "cpu";

    public override ValidationResult Validate()
    {
        if (Inputs.Length == 0) return ValidationResult.Error("give at least one INPUT (file, folder or glob)");
        if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out DIR is required");
        return base.Validate();
    }

    /// <summary>The model to load: the given path, a bundled model named so, or the bundled default.</summary>
    public string ModelPath()
    {
        if (string.IsNullOrWhiteSpace(Model)) return GreenSeg.Models.PretrainedModels.Default().ModelPath;
        if (!File.Exists(Model) && !Directory.Exists(Model) && GreenSeg.Models.PretrainedModels.Find(Model) is { } bundled) return bundled.ModelPath;
        return Model;
    }

    /// <summary>
    /// The post-processing --components and --min-component-share ask for (a share alone means large components, the only
    /// selection it changes); null when neither is given: the model's own.
    /// </summary>
    public static PostProcessingOptions? GivenComponents(ComponentSelection? components, double? minComponentShare) =>
        components is null && minComponentShare is null ? null : PostProcessingOptions.Default with
        {
            Components = components ?? ComponentSelection.Large,
            MinComponentShare = minComponentShare ?? PostProcessingOptions.DefaultMinComponentShare,
        };

    public SegmentOptions ToSegmentOptions() => new()
    {
        Threshold = Threshold,
        Tta = Tta,
        Views = Views,
        FoldBatchNorm = !NoFoldBatchNorm,
        PostProcessing = NoPostprocess ? PostProcessingOptions.None : GivenComponents(Components, MinComponentShare),
        BatchSize = BatchSize,
        Precision = Precision,
        ChannelsLast = ChannelsLast,
        Threads = Threads,
        Device = Device,
        Engine = Engine,
        Calibration = Calibration is null ? null : new CalibrationOptions { Data = Calibration, Slices = CalibrationSlices, Method = CalibrationMethod },
    };
}

/// <summary>`greenseg segment`: brain masks for NIfTI stacks with a trained model; exit code 3 when some input failed.</summary>
public sealed class SegmentCommand : Command<SegmentSettings>
{
    public override int Execute(CommandContext context, SegmentSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToSegmentOptions().Validate();
        string modelPath = settings.ModelPath();
        var plan = BatchSegmentation.Plan(settings.Inputs, new SegmentationOutput
        {
            Folder = settings.Out!,
            Suffix = settings.Suffix,
            Probabilities = settings.Probabilities,
            Overwrite = settings.Overwrite,
        });
        if (plan.Jobs.Count == 0)
        {
            SegmentationConsole.PrintFailures(plan.Problems);
            AnsiConsole.MarkupLine("[red]error:[/] nothing to segment");
            return CliErrors.InputError;
        }
        var result = SegmentationConsole.RunWithProgress(plan.Jobs.Count,
            onStack => BatchSegmentation.Run(modelPath, plan, options, settings.ToEnergyOptions(), onStack, cancellationToken));
        SegmentationConsole.Print(result);
        if (settings.Preview)
            ReviewConsole.Print(ReviewWriter.Write(settings.Out!, "GreenSeg segmentation review", ReviewSources.ForSegmentation(result)));
        return result.AllSucceeded ? 0 : CliErrors.InputError;
    }
}
