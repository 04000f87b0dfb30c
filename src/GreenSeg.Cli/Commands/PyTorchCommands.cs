using System.ComponentModel;
using GreenSeg.Models;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class ExportSettings : CommandSettings
{
    [CommandArgument(0, "<RUN>")]
    [Description("A training run folder (its best checkpoint), a checkpoint folder or a model.pt with model.json beside it.")]
    public string Run { get; init; } = "";

    [CommandOption("-o|--out <FILE>")]
    [Description("The file to write: .safetensors, or .pt/.pth for a PyTorch state dict (torch.load then load_state_dict).")]
    public string? Out { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out FILE is required (.safetensors, .pt or .pth)") : ValidationResult.Success();
}

/// <summary>greenseg export: a checkpoint's weights for PyTorch (safetensors or a state dict).</summary>
public sealed class ExportCommand : Command<ExportSettings>
{
    public override int Execute(CommandContext context, ExportSettings settings, CancellationToken cancellationToken)
    {
        var manifest = PyTorchWeights.ExportCheckpoint(settings.Run, settings.Out!);
        ConsoleTable.Line($"wrote {Path.GetFullPath(settings.Out!)}: {manifest.Model} (width {manifest.ModelWidth?.ToString() ?? "default"}), trained on {manifest.Size}x{manifest.Size} slices at {manifest.Spacing} mm, {manifest.Normalization}{(manifest.CanonicalOrientation ? ", canonical orientation" : "")}");
        return 0;
    }
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
