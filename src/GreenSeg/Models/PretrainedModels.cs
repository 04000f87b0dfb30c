using System.Text.Json;
using GreenSeg.Common;

namespace GreenSeg.Models;

/// <summary>What a bundled model is, how it was made and how well it did: its card.json.</summary>
public sealed record PretrainedCard
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    /// <summary>The one command that trained it, from the repository root.</summary>
    public required string Command { get; init; }
    public required string TrainedOn { get; init; }
    /// <summary>Its recipe's cross-validation on the same data (3D per stack, post-processed), with the command.</summary>
    public required string CrossValidation { get; init; }
    public required string Limitations { get; init; }
}

/// <summary>A model that ships with GreenSeg: its folder (a checkpoint: model.pt and model.json, or an exported model.onnx) and card.</summary>
public sealed record PretrainedModel(string Folder, PretrainedCard Card)
{
    public const string OnnxFileName = "model.onnx";

    public string Name => Card.Name;

    /// <summary>What <c>segment</c> loads: the checkpoint folder, or the folder's ONNX model when it holds no checkpoint.</summary>
    public string ModelPath => HoldsCheckpoint ? Folder : Path.Combine(Folder, OnnxFileName);

    /// <summary>The network and preprocessing: the checkpoint's model.json, or the ONNX model's metadata.</summary>
    public CheckpointManifest Manifest() => HoldsCheckpoint ? CheckpointManifest.Locate(Folder).Manifest : Onnx.OnnxModelFile.Read(ModelPath).Manifest;

    private bool HoldsCheckpoint => File.Exists(Path.Combine(Folder, CheckpointManifest.WeightsFileName));
    public long SizeBytes => new DirectoryInfo(Folder).EnumerateFiles().Sum(f => f.Length);
}

/// <summary>
/// The models bundled with GreenSeg (copied beside the program under pretrained/&lt;name&gt;/), so
/// <c>greenseg segment stack.nii.gz --out masks/</c> works without training anything first.
/// </summary>
public static class PretrainedModels
{
    public const string DefaultName = "fetal-brain-v4";
    public const string CardFileName = "card.json";

    public static string Root => Path.Combine(AppContext.BaseDirectory, "pretrained");

    public static IReadOnlyList<PretrainedModel> All() => !Directory.Exists(Root) ? []
        : Directory.GetDirectories(Root).Order(StringComparer.Ordinal)
            .Where(folder => File.Exists(Path.Combine(folder, CardFileName)))
            .Select(Load).ToList();

    /// <summary>The bundled model of this name, or null when none is.</summary>
    public static PretrainedModel? Find(string name)
    {
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..") return null;
        string folder = Path.Combine(Root, name);
        return File.Exists(Path.Combine(folder, CardFileName)) ? Load(folder) : null;
    }

    /// <summary>The bundled default model; a clear error when this installation lacks it.</summary>
    public static PretrainedModel Default() => Find(DefaultName)
        ?? throw new GreenSegException($"no --model given and the bundled model {DefaultName} is missing from {Root}; give --model RUN_DIR_OR_CHECKPOINT");

    private static PretrainedModel Load(string folder)
    {
        string path = Path.Combine(folder, CardFileName);
        try
        {
            var card = JsonSerializer.Deserialize<PretrainedCard>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
                ?? throw new InvalidInputException(path, "empty model card");
            return new PretrainedModel(folder, card);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"unreadable model card ({e.Message})", e);
        }
    }
}
