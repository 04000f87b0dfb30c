using System.ComponentModel;
using GreenSeg.Common;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Models.Onnx;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

/// <summary>What greenseg export writes.</summary>
public enum ExportFormat
{
    /// <summary>The weights as safetensors.</summary>
    Safetensors,
    /// <summary>The weights as a PyTorch state dict (torch.load, then load_state_dict).</summary>
    Pt,
    /// <summary>The whole model as ONNX (opset 17): graph, weights and preprocessing metadata.</summary>
    Onnx,
}

public sealed class ExportSettings : CommandSettings
{
    [CommandArgument(0, "<RUN>")]
    [Description("A training run folder (its best checkpoint), a checkpoint folder or a model.pt with model.json beside it.")]
    public string Run { get; init; } = "";

    [CommandOption("-o|--out <FILE>")]
    [Description("The file to write: .safetensors, .pt/.pth for a PyTorch state dict (torch.load then load_state_dict), or .onnx for the whole model (an existing .onnx is replaced only when GreenSeg exported it).")]
    public string? Out { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("safetensors | pt | onnx; default: from --out's extension.")]
    public ExportFormat? Format { get; init; }

    [CommandOption("--precision <P>")]
    [Description("onnx only: fp32, or int8 (static post-training quantisation in QDQ form: per-channel int8 weights, uint8 activations calibrated on --calibration).")]
    [DefaultValue(OnnxPrecision.Fp32)]
    public OnnxPrecision Precision { get; init; } = OnnxPrecision.Fp32;

    [CommandOption("--calibration <DATA>")]
    [Description("int8: the data whose slices calibrate the activation ranges: a dataset (its training slices; the run's own training data is the natural choice) or one NIfTI stack.")]
    public string? Calibration { get; init; }

    [CommandOption("--calibration-slices <N>")]
    [Description("int8: slices drawn evenly over the calibration data's stacks.")]
    [DefaultValue(64)]
    public int CalibrationSlices { get; init; } = 64;

    [CommandOption("--calibration-method <METHOD>")]
    [Description("int8: minmax (each tensor's whole range) | percentile (99.99th percentile at each end).")]
    [DefaultValue(CalibrationMethod.MinMax)]
    public CalibrationMethod CalibrationMethod { get; init; } = CalibrationMethod.MinMax;

    [CommandOption("--threads <N>")]
    [Description("int8: ONNX Runtime threads for the calibration runs (0: its default).")]
    [DefaultValue(0)]
    public int Threads { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out FILE is required (.safetensors, .pt, .pth or .onnx)") : ValidationResult.Success();

    /// <summary>--format, or the one --out's extension names; a --format that contradicts a known extension is refused.</summary>
    public ExportFormat ResolveFormat()
    {
        ExportFormat? implied = OnnxModelFile.IsOnnxPath(Out!) ? ExportFormat.Onnx
            : Path.GetExtension(Out!).ToLowerInvariant() switch
            {
                ".safetensors" => ExportFormat.Safetensors,
                ".pt" or ".pth" or ".bin" => ExportFormat.Pt,
                _ => null,
            };
        if (Format is { } format && implied is { } fromName && format != fromName)
            throw new GreenSegException($"--format {format.ToString().ToLowerInvariant()} does not match --out {Out} (a {fromName.ToString().ToLowerInvariant()} name)");
        return Format ?? implied ?? throw new GreenSegException($"--out {Out}: name it .safetensors, .pt/.pth or .onnx, or give --format");
    }

    public CalibrationOptions? ToCalibrationOptions() => Calibration is null ? null : new CalibrationOptions
    {
        Data = Calibration, Slices = CalibrationSlices, Method = CalibrationMethod,
    };
}

/// <summary>greenseg export: a checkpoint's weights for PyTorch (safetensors or a state dict), or the model as ONNX.</summary>
public sealed class ExportCommand : Command<ExportSettings>
{
    public override int Execute(CommandContext context, ExportSettings settings, CancellationToken cancellationToken)
    {
        var format = settings.ResolveFormat();
        string path = Path.GetFullPath(settings.Out!);
        if (format == ExportFormat.Onnx)
        {
            var model = OnnxModels.ExportCheckpoint(settings.Run, path, new OnnxExportOptions
            {
                Precision = settings.Precision, Calibration = settings.ToCalibrationOptions(), Threads = settings.Threads,
            });
            string calibration = OnnxExport.Metadata(model.Proto, OnnxExport.Keys.Calibration) is { } c ? $", calibrated by {c}" : "";
            ConsoleTable.Line($"wrote {path}: ONNX opset {OnnxGraph.Opset}, {OnnxExport.Name(model.Precision)}{calibration}; input '{OnnxExport.InputName}' [N, 1, H, W] " +
                $"(H and W multiples of {OnnxExport.Metadata(model.Proto, OnnxExport.Keys.TotalStride)}), output '{OnnxExport.OutputName}' [N, 1, H, W]; {Trained(model.Manifest)} (in the file's metadata)");
            return 0;
        }
        if (settings.Precision != OnnxPrecision.Fp32 || settings.Calibration is not null)
            throw new GreenSegException("--precision and --calibration apply to --format onnx");
        var manifest = PyTorchWeights.ExportCheckpoint(settings.Run, path, format == ExportFormat.Safetensors ? PyTorchFormat.Safetensors : PyTorchFormat.StateDict);
        ConsoleTable.Line($"wrote {path}: {Trained(manifest)}");
        return 0;
    }

    private static string Trained(CheckpointManifest manifest) =>
        $"{manifest.Model} (width {manifest.ModelWidth?.ToString() ?? "default"}), trained on {manifest.Size}x{manifest.Size} slices at {manifest.Spacing} mm, {manifest.Normalization}{(manifest.CanonicalOrientation ? ", canonical orientation" : "")}";
}

public sealed class ModelsImportSettings : CommandSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("PyTorch weights: .safetensors, or a state dict saved by torch.save (.pt, .pth, .bin). Tensor names as GreenSeg's (greenseg models show NAME).")]
    public string File { get; init; } = "";

    [CommandOption("-m|--model <NAME>")] [Description("The architecture (greenseg models list).")]
    public string? Model { get; init; }
    [CommandOption("--model-width <N>")] [Description("Its base width, as it was trained.")]
    public int? ModelWidth { get; init; }
    [CommandOption("--size <PIXELS>")] [Description("The square slice size it was trained on.")] [DefaultValue(128)]
    public int Size { get; init; } = 128;
    [CommandOption("--spacing <MM>")] [Description("The pixel spacing it was trained on.")] [DefaultValue(2.0)]
    public double Spacing { get; init; } = 2.0;
    [CommandOption("--normalization <KIND>")] [Description("ZScoreNonzero | Percentile: how its slices' intensities were normalised.")]
    [DefaultValue(Transforms.IntensityNormalization.ZScoreNonzero)]
    public Transforms.IntensityNormalization Normalization { get; init; } = Transforms.IntensityNormalization.ZScoreNonzero;
    [CommandOption("--canonical-orientation")] [Description("Its slices were turned to the canonical in-plane orientation.")]
    public bool CanonicalOrientation { get; init; }
    [CommandOption("-o|--out <DIR>")] [Description("The checkpoint folder to write (model.pt, model.json): segment --model DIR uses it.")]
    public string? Out { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model NAME is required (greenseg models list)")
        : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out DIR is required")
        : ValidationResult.Success();
}

/// <summary>greenseg models import: PyTorch weights as a GreenSeg checkpoint.</summary>
public sealed class ModelsImportCommand : Command<ModelsImportSettings>
{
    public override int Execute(CommandContext context, ModelsImportSettings settings, CancellationToken cancellationToken)
    {
        var manifest = new CheckpointManifest
        {
            Model = settings.Model!,
            ModelWidth = settings.ModelWidth,
            Size = settings.Size,
            Spacing = settings.Spacing,
            Normalization = settings.Normalization,
            CanonicalOrientation = settings.CanonicalOrientation,
            TrainedWith = $"imported from {Path.GetFileName(settings.File)}",
            PreprocessingVersion = Transforms.PreprocessingOptions.Version,
        };
        string weights = PyTorchWeights.ImportCheckpoint(settings.File, manifest, settings.Out!);
        ConsoleTable.Line($"wrote {weights} and its model.json; segment with --model {Path.GetFullPath(settings.Out!)}");
        return 0;
    }
}
