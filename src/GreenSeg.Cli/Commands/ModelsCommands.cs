using System.ComponentModel;
using System.Globalization;
using GreenSeg.Models;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class ModelsListSettings : CommandSettings
{
    [CommandOption("--size <PIXELS>")]
    [Description("Square input side for the GMAC and activation columns.")]
    [DefaultValue(256)]
    public int Size { get; init; } = 256;
}

/// <summary>greenseg models list: every architecture with its size and cost.</summary>
public sealed class ModelsListCommand : Command<ModelsListSettings>
{
    public override int Execute(CommandContext context, ModelsListSettings settings, CancellationToken cancellationToken)
    {
        var rows = new List<string[]>();
        foreach (var info in ModelRegistry.Models)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var model = ModelRegistry.Create(info.Name);
            var profile = ModelProfiler.Profile(model, settings.Size, settings.Size);
            rows.Add([info.Name, Format.Millions(profile.Parameters), profile.GigaMacs.ToString("F2", CultureInfo.InvariantCulture),
                Format.MiB(profile.PeakTrainingActivationBytes), model.TotalStride.ToString(CultureInfo.InvariantCulture), info.Reference]);
        }
        ConsoleTable.Write(["model", "parameters", $"GMACs @{settings.Size}x{settings.Size}", "train activations MiB", "stride", "reference"],
            rows, 1, 2, 3, 4);
        return 0;
    }
}

public sealed class ModelsShowSettings : CommandSettings
{
    [CommandArgument(0, "<NAME>")]
    [Description("Model name (see `greenseg models list`).")]
    public string Name { get; init; } = "";

    [CommandOption("--size <PIXELS>")]
    [Description("Square input side.")]
    [DefaultValue(256)]
    public int Size { get; init; } = 256;

    [CommandOption("--model-width <N>")]
    [Description("Width of the first stage, as training's --model-width (default: the model's own).")]
    public int? ModelWidth { get; init; }

    [CommandOption("--first-stage-width <N>")]
    [Description("Width of a U-Net's full-resolution stage, as training's --first-stage-width (default: the model width).")]
    public int? FirstStageWidth { get; init; }
}

/// <summary>greenseg models show NAME: the layer table of one architecture.</summary>
public sealed class ModelsShowCommand : Command<ModelsShowSettings>
{
    public override int Execute(CommandContext context, ModelsShowSettings settings, CancellationToken cancellationToken)
    {
        var info = ModelRegistry.Describe(settings.Name);
        using var model = ModelRegistry.Create(info.Name, new ModelOptions { BaseFeatures = settings.ModelWidth, FirstStageWidth = settings.FirstStageWidth });
        var profile = ModelProfiler.Profile(model, settings.Size, settings.Size);
        ConsoleTable.Line($"{info.Name}: {info.Description} ({info.Reference})");
        ConsoleTable.Write(["layer", "type", "output", "params", "MMACs"],
            profile.Layers.Select(l => new[]
            {
                l.Name, l.Type, string.Join("x", l.OutputShape.Skip(1)),
                l.Parameters.ToString("N0", CultureInfo.InvariantCulture),
                (l.MultiplyAccumulates / 1e6).ToString("F1", CultureInfo.InvariantCulture),
            }), 3, 4);
        ConsoleTable.Line(string.Create(CultureInfo.InvariantCulture,
            $"input 1x{model.InChannels}x{settings.Size}x{settings.Size}, width {model.BaseFeatures}{(model.FirstStageWidth is int first ? $" (first stage {first})" : "")}, total stride {model.TotalStride}: " +
            $"{profile.Parameters:N0} parameters, {profile.GigaMacs:F2} GMACs, " +
            $"training activations >= {Format.MiB(profile.PeakTrainingActivationBytes)} MiB per image (largest layer output {Format.MiB(profile.LargestActivationBytes)} MiB)"));
        return 0;
    }
}

internal static class Format
{
    public static string Millions(long count) => (count / 1e6).ToString("F3", CultureInfo.InvariantCulture) + " M";

    public static string MiB(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}

/// <summary>greenseg models pretrained: the models that ship with GreenSeg, how each was trained and how well its recipe cross-validated.</summary>
public sealed class ModelsPretrainedCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        var models = PretrainedModels.All();
        if (models.Count == 0)
        {
            ConsoleTable.Line($"no bundled models in {PretrainedModels.Root}");
            return 0;
        }
        foreach (var model in models)
        {
            var manifest = model.Manifest();
            ConsoleTable.Line($"{model.Name}{(model.Name == PretrainedModels.DefaultName ? " (segment's default)" : "")}: {model.Card.Description}");
            ConsoleTable.Write(["", ""],
            [
                ["network", FormattableString.Invariant($"{manifest.Model}{(manifest.ModelWidth is int w ? $" width {w}" : "")}{(manifest.FirstStageWidth is int first ? $" (first stage {first})" : "")}, {manifest.Size}x{manifest.Size} at {manifest.Spacing} mm, {manifest.Normalization}{(manifest.CanonicalOrientation ? ", canonical orientation" : "")}")],
                ["size", Format.MiB(model.SizeBytes) + " MiB"],
                ["trained on", model.Card.TrainedOn],
                ["command", model.Card.Command],
                ["cross-validation", model.Card.CrossValidation],
                ["limitations", model.Card.Limitations],
                ["folder", model.Folder],
            ]);
        }
        return 0;
    }
}
