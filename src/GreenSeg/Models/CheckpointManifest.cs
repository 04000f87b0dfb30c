using System.Text.Json;
using GreenSeg.Common;

namespace GreenSeg.Models;

/// <summary>
/// Saved beside model.pt: what is needed to rebuild the network and prepare slices exactly as in
/// training, so <c>greenseg segment</c> needs nothing but the checkpoint.
/// </summary>
public sealed record CheckpointManifest
{
    public const string FileName = "model.json";
    /// <summary>What a training run writes once it has finished (the run folder's summary.json).</summary>
    public const string RunSummaryFileName = "summary.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
    public const string WeightsFileName = "model.pt";

    public required string Model { get; init; }
    public int? ModelWidth { get; init; }
    /// <summary>A U-Net's full-resolution stage width when training narrowed it (<see cref="ModelOptions.FirstStageWidth"/>); absent: the model width.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? FirstStageWidth { get; init; }
    /// <summary>The fire-module network's shape when training changed it (architecture search); absent: the network's own.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public FireNetShape? FireNet { get; init; }
    public int InChannels { get; init; } = 1;
    public int OutChannels { get; init; } = 1;
    public double Spacing { get; init; }
    public int Size { get; init; }
    /// <summary>Absent in checkpoints written before it existed, which all used the z-score.</summary>
    public Transforms.IntensityNormalization Normalization { get; init; } = Transforms.IntensityNormalization.ZScoreNonzero;
    public int Epoch { get; init; }
    public double? ValidationDice { get; init; }
    public string TrainedWith { get; init; } = "";
    /// <summary>Slices were turned to the canonical in-plane orientation (<see cref="Transforms.InPlaneOrientation"/>); absent in older manifests.</summary>
    public bool CanonicalOrientation { get; init; }
    /// <summary>
    /// Cut planes per stored slice the model trained on besides the stored slices (<c>--multi-planar</c>); 0, and absent in
    /// older manifests: stored slices only. Such a model can segment all three planes of a stack (segment --views three-planes).
    /// </summary>
    public double MultiPlanar { get; init; }
    /// <summary>
    /// How segment cleans up the thresholded mask unless told otherwise: the recipe's post-processing (cross-validation
    /// chooses it with the rest of the recipe); absent in older manifests, which all used
    /// <see cref="Transforms.PostProcessingOptions.Default"/>.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Transforms.PostProcessingOptions? PostProcessing { get; init; }
    /// <summary>
    /// <see cref="Transforms.PreprocessingOptions.Version"/> of the arithmetic the slices went through; absent (1) in older
    /// manifests. A checkpoint from a later version is refused rather than fed slices prepared another way.
    /// </summary>
    public int PreprocessingVersion { get; init; } = 1;
    /// <summary>
    /// The prunable blocks' internal widths after structured pruning (<see cref="ModelOptions.InternalWidths"/>); absent: the
    /// architecture's own widths.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? InternalWidths { get; init; }

    /// <summary>A fresh (untrained) network of the architecture, width and channels this manifest describes.</summary>
    public SegmentationModel CreateModel() =>
        ModelRegistry.Create(Model, new ModelOptions { BaseFeatures = ModelWidth, FirstStageWidth = FirstStageWidth, InChannels = InChannels, OutChannels = OutChannels, InternalWidths = InternalWidths, FireNet = FireNet });

    /// <summary>The preprocessing the model was trained with, which inference must repeat exactly.</summary>
    public Transforms.PreprocessingOptions Preprocessing() => new()
    {
        TargetSpacing = Spacing,
        TargetWidth = Size,
        TargetHeight = Size,
        Normalization = Normalization,
        CanonicalOrientation = CanonicalOrientation,
    };

    public void Save(string folder) =>
        AtomicFile.WriteAllText(Path.Combine(folder, FileName), ToJson());

    /// <summary>The manifest as model.json holds it (also what an exported ONNX model carries in its metadata).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>A manifest read from JSON and checked (<see cref="Problem"/>); an <see cref="InvalidInputException"/> naming <paramref name="source"/> otherwise.</summary>
    public static CheckpointManifest FromJson(string json, string source)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<CheckpointManifest>(json, JsonOptions)
                ?? throw new InvalidInputException(source, "empty model manifest");
            if (manifest.Problem() is { } problem) throw new InvalidInputException(source, problem);
            return manifest;
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(source, $"unreadable model manifest ({e.Message})", e);
        }
    }

    /// <summary>What makes this manifest unusable (a model could not be built or fed from it); null when it is fine.</summary>
    public string? Problem()
    {
        if (string.IsNullOrWhiteSpace(Model)) return "names no model";
        if (Size is < ModelLimits.MinSize or > ModelLimits.MaxSize) return $"Size {Size} must lie in {ModelLimits.MinSize}..{ModelLimits.MaxSize} pixels";
        if (!(Spacing >= ModelLimits.MinSpacingMm && Spacing <= ModelLimits.MaxSpacingMm)) return $"Spacing {Spacing} must lie in {ModelLimits.MinSpacingMm}..{ModelLimits.MaxSpacingMm} mm";
        if (ModelWidth is < 1 or > ModelLimits.MaxModelWidth) return $"ModelWidth {ModelWidth} must lie in 1..{ModelLimits.MaxModelWidth}";
        if (FirstStageWidth is < 1 or > ModelLimits.MaxModelWidth) return $"FirstStageWidth {FirstStageWidth} must lie in 1..{ModelLimits.MaxModelWidth}";
        if (InChannels is < 1 or > 64 || OutChannels is < 1 or > 64) return $"InChannels {InChannels} and OutChannels {OutChannels} must lie in 1..64";
        if (InternalWidths is { } widths && (widths.Count > 100_000 || widths.Any(w => w is < 1 or > ModelLimits.MaxModelWidth * 64)))
            return $"InternalWidths must each lie in 1..{ModelLimits.MaxModelWidth * 64}";
        if (ModelRegistry.TryDescribe(Model) is not null && ModelRegistry.ShapeProblem(Model, FireNet) is { } shape) return shape;
        if (ModelRegistry.TryDescribe(Model) is not null && ModelRegistry.FirstStageWidthProblem(Model, FirstStageWidth) is { } firstStage) return firstStage;
        if (PostProcessing is { } post && PostProcessingProblem(post) is { } cleanUp) return cleanUp;
        if (!Enum.IsDefined(Normalization)) return $"Normalization {Normalization} is not one this GreenSeg knows";
        if (PreprocessingVersion is < 1 or > Transforms.PreprocessingOptions.Version)
            return $"PreprocessingVersion {PreprocessingVersion}: this GreenSeg prepares slices by version 1..{Transforms.PreprocessingOptions.Version}; use the GreenSeg that trained it";
        return null;
    }

    private static string? PostProcessingProblem(Transforms.PostProcessingOptions postProcessing)
    {
        try
        {
            postProcessing.Validate();
            return null;
        }
        catch (ArgumentOutOfRangeException e)
        {
            return $"PostProcessing.{e.ParamName}: {e.Message.Split(" (Parameter")[0]}";
        }
    }

    /// <summary>The folder of a cross-validation's output that holds one run folder per fold.</summary>
    public const string FoldsFolderName = "folds";

    /// <summary>
    /// The checkpoints a path names: one (as <see cref="Locate"/>), or, for a cross-validation's output folder
    /// (run folders under <c>folds/</c>), each fold's model in fold order: an ensemble.
    /// </summary>
    public static IReadOnlyList<(CheckpointManifest Manifest, string WeightsPath)> LocateAll(string path)
    {
        string full = Path.GetFullPath(path);
        string folds = Path.Combine(full, FoldsFolderName);
        if (!Directory.Exists(full) || File.Exists(Path.Combine(full, FileName)) || !Directory.Exists(folds)) return [Locate(path)];
        var members = new List<(CheckpointManifest, string)>();
        foreach (string fold in Directory.GetDirectories(folds).Order(StringComparer.Ordinal))
        {
            // A fold still training has checkpoints but no summary; its weights are not the fold's model yet.
            if (!File.Exists(Path.Combine(fold, RunSummaryFileName))) throw new InvalidInputException(fold, "has not finished training; finish the cross-validation (run it again to resume) before using its folds as an ensemble");
            members.Add(Locate(fold));
        }
        return members.Count > 0 ? members : throw new InvalidInputException(folds, "holds no fold models; has the cross-validation trained any fold yet?");
    }

    public static (CheckpointManifest Manifest, string WeightsPath) Locate(string path)
    {
        string full = Path.GetFullPath(path);
        string folder = File.Exists(full) ? Path.GetDirectoryName(full)! : full;
        if (Directory.Exists(folder) && !File.Exists(Path.Combine(folder, FileName)))
        {
            string best = Path.Combine(folder, "checkpoints", "best");
            if (Directory.Exists(best)) folder = best;
        }
        string manifestPath = Path.Combine(folder, FileName);
        if (!File.Exists(manifestPath))
            throw new InvalidInputException(full, "not a GreenSeg model: expected a run folder, a checkpoint folder or a model.pt with model.json beside it");
        string weights = File.Exists(full) && full.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) ? full : Path.Combine(folder, WeightsFileName);
        if (!File.Exists(weights)) throw new InvalidInputException(weights, "model weights not found");
        RegularFile.Require(manifestPath);
        RegularFile.Require(weights);
        return (FromJson(File.ReadAllText(manifestPath), manifestPath), weights);
    }
}
