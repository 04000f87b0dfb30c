using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GreenSeg.Transforms;
using GreenSeg.Models;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Evaluation;
using GreenSeg.Inference;
using GreenSeg.Training;

namespace GreenSeg.CrossValidation;

/// <summary>What `greenseg crossval` is asked to do.</summary>
public sealed record CrossValidationOptions
{
    /// <summary>The labelled stacks (any layout `train` reads).</summary>
    public required string Data { get; init; }
    public required FoldSpec Folds { get; init; }
    public required string OutputFolder { get; init; }
    /// <summary>The recipe every fold trains with; data, stacks and the final schedule are set per fold.</summary>
    public TrainingOptions Training { get; init; } = new();
    /// <summary>How held-out stacks are segmented (segment's defaults); device and threads follow <see cref="Training"/>.</summary>
    public SegmentOptions Segmentation { get; init; } = new();
    /// <summary>Once every fold is scored, write OUT/review.html: each held-out stack's mosaic with both outlines, its scores and flags.</summary>
    public bool Review { get; init; } = true;
    /// <summary>Seed of the fold assignment; null uses the recipe's seed. A search fixes it so trials with other seeds share the folds.</summary>
    public int? FoldSeed { get; init; }
    /// <summary>
    /// An earlier cross-validation whose fold models are scored instead of training new ones: its data, folds and recipe
    /// replace <see cref="Data"/>, <see cref="Folds"/> and <see cref="Training"/>, so segmentation options are compared
    /// without retraining. Its training energy and time are reported with this scoring's.
    /// </summary>
    public string? ModelsFrom { get; init; }
}

/// <summary>A fold's held-out stacks scored by its trained model, and what the scoring cost.</summary>
public sealed record FoldScoring(IReadOnlyList<StackScore> Scores, double InferenceKj, bool EnergyEstimated, TimeSpan Duration);

/// <summary>What a fold does first: train from scratch, resume its training, or only score a model trained elsewhere (<see cref="CrossValidationOptions.ModelsFrom"/>).</summary>
public enum FoldStart
{
    Training,
    Resuming,
    ScoringOnly,
}

public interface ICrossValidationObserver
{
    ITrainingObserver Training { get; }
    void FoldStarting(Fold fold, int count, FoldStart start);
    void FoldSkipped(Fold fold, int count);
    void StackScored(Fold fold, StackScore score);
    /// <summary>A fold is scored and recorded; <paramref name="soFar"/> holds every fold recorded up to now.</summary>
    void FoldScored(Fold fold, int count, CrossValidationResults soFar);
}

public sealed class SilentCrossValidationObserver : ICrossValidationObserver
{
    public static SilentCrossValidationObserver Instance { get; } = new();
    public ITrainingObserver Training => SilentObserver.Instance;
    public void FoldStarting(Fold fold, int count, FoldStart start) { }
    public void FoldSkipped(Fold fold, int count) { }
    public void StackScored(Fold fold, StackScore score) { }
    public void FoldScored(Fold fold, int count, CrossValidationResults soFar) { }
}

/// <summary>
/// Cross-validation by stack, the instrument recipes and defaults are decided by: each fold trains the
/// recipe on its training stacks with the fixed schedule (no stack held out for selection: the last
/// epoch is the model), then segments each held-out stack reassembled in 3D exactly as
/// <c>greenseg segment</c> does (preprocessing, network, inverse, threshold, post-processing) and scores
/// it (Dice, HD95, ASSD, volumes). Folds are recorded in OUT/crossval.db; a stopped cross-validation
/// resumes with the fold it was in (its training resumes from the last checkpoint).
/// </summary>
public static class CrossValidationRunner
{
    public const string FoldsFolderName = CheckpointManifest.FoldsFolderName;
    public const string PredictionsFolderName = "predictions";

    public static string PredictionFileName(string stack) => $"{stack}_maskpred.nii.gz";
    internal const string PlanKey = "plan";

    public static CrossValidationResults Run(CrossValidationOptions options, ICrossValidationObserver? observer = null,
        CancellationToken cancellationToken = default)
    {
        observer ??= SilentCrossValidationObserver.Instance;
        // The source's plan is read once; its folds are checked against the plan it gives today.
        var planned = WithModelSource(options);
        var (folds, recipe) = Plan(planned);
        var trained = options.ModelsFrom is { } source ? TrainedFolds(source, folds) : null;
        using var store = CrossValidationStore.Open(options.OutputFolder);
        string plan = Describe(planned, recipe, folds, options.ModelsFrom);
        if (store.GetMeta(PlanKey) is { } stored && stored != plan && PlanDifference(stored, plan) is { } difference)
            throw new InvalidInputException(store.Path, $"holds a cross-validation {difference}; resume it with the same ones or choose another --out");
        store.SetMeta(PlanKey, plan);
        store.SetMeta("folds", planned.Folds.ToString());
        store.SetMeta("options", recipe.ToYaml());

        var done = store.Folds().Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var fold in folds)
        {
            if (cancellationToken.IsCancellationRequested) break;
            if (done.Contains(fold.Name))
            {
                observer.FoldSkipped(fold, folds.Count);
                continue;
            }
            store.Record(trained is null
                ? RunFold(options, recipe, fold, folds.Count, observer, cancellationToken)
                : ScoreTrainedFold(options, recipe, fold, folds.Count, trained[fold.Name], observer, cancellationToken));
            observer.FoldScored(fold, folds.Count, CrossValidationResults.From(store));
        }
        var results = CrossValidationResults.From(store);
        if (options.Review && results.FoldResults.Count == folds.Count) results = results with { Review = CrossValidationReview.Write(results) };
        return results;
    }

    /// <summary>The folds and the recipe they share, checked before anything trains.</summary>
    public static (IReadOnlyList<Fold> Folds, TrainingOptions Recipe) Plan(CrossValidationOptions options)
    {
        options = WithModelSource(options);
        var recipe = options.Training with
        {
            Data = Path.GetFullPath(options.Data),
            Final = true,
            ValidationData = null,
            Stacks = null,
            Output = Path.GetFullPath(options.OutputFolder),
        };
        recipe.Validate();
        options.Segmentation.Validate();
        var dataset = DatasetReader.Open(recipe.Data);
        if (dataset.TrainingStacks.Count < 2) throw new InvalidInputException(recipe.Data, "needs at least two labelled stacks to cross-validate");
        return (Folds.Make(dataset.TrainingStacks, options.Folds, options.FoldSeed ?? recipe.Seed), recipe);
    }

    /// <summary>The run folder a fold trains in: OUT/folds/&lt;fold&gt;.</summary>
    public static string FoldFolder(TrainingOptions recipe, Fold fold) => Path.Combine(recipe.Output, FoldsFolderName, fold.Name);

    /// <summary>The options a fold trains with: the planned recipe on the fold's training stacks.</summary>
    public static TrainingOptions FoldRecipe(TrainingOptions recipe, Fold fold) => recipe with { Stacks = fold.Train.Select(s => s.Id).ToList() };

    /// <summary>
    /// Whether a plan stored by an earlier GreenSeg asks for what this one would do: the same folds, and options and
    /// segmentation that read back (through today's types, options added since at their defaults) as today's.
    /// </summary>
    internal static bool SamePlan(string stored, string current) => PlanDifference(stored, current) is null;

    /// <summary>Null where a stored plan asks for what this one would do (<see cref="SamePlan"/>); else what differs, in words ("of other data, ...").</summary>
    internal static string? PlanDifference(string stored, string current)
    {
        const string Other = "of other data, folds or options";
        var (storedFolds, storedOptions, storedSegmentation) = Split(stored);
        var (folds, options, segmentation) = Split(current);
        if (storedFolds != folds) return Other;
        try
        {
            var storedRecipe = TrainingOptions.ParseWritten(storedOptions, "the stored plan");
            if (storedRecipe.ToYaml().TrimEnd('\n') != options.TrimEnd('\n')) return Other;
            var (was, now) = (ReadSegmentation(storedSegmentation), ReadSegmentation(segmentation));
            return SameSegmentation(was, now, storedRecipe) ? null
                : was is null || now is null ? Other
                : $"whose held-out stacks were segmented otherwise (stored: {was.MaskOptions()}; asked: {now.MaskOptions()})";
        }
        catch (Exception e) when (e is GreenSegException or JsonException)
        {
            return Other;
        }
    }

    /// <summary>How a plan (<see cref="Describe"/>) segments its held-out stacks; null for a plan that does not say.</summary>
    public static SegmentOptions? PlanSegmentation(string plan)
    {
        try
        {
            return ReadSegmentation(Split(plan).Segmentation);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A plan's segmentation JSON read through today's type. Plans written before test-time augmentation had modes carry a
    /// FlipTta switch instead: on was the left-right flip, off (or absent, before the switch) none, whatever today's default.
    /// </summary>
    private static SegmentOptions? ReadSegmentation(string json)
    {
        if (string.IsNullOrWhiteSpace(json) || JsonNode.Parse(json) is not JsonObject segmentation) return null;
        if (!segmentation.ContainsKey(nameof(SegmentOptions.Tta)))
        {
            bool flipped = segmentation["FlipTta"] is JsonValue flip && flip.TryGetValue(out bool on) && on;
            segmentation[nameof(SegmentOptions.Tta)] = (int)(flipped ? TestTimeAugmentation.LeftRight : TestTimeAugmentation.None);
        }
        return segmentation.Deserialize<SegmentOptions>();
    }

    /// <summary>
    /// Whether two segmentations do the same: post-processing given as the recipe's (as plans written before models carried
    /// theirs gave it) is the same as none given, which uses the models' own, the recipe's.
    /// </summary>
    private static bool SameSegmentation(SegmentOptions? stored, SegmentOptions? current, TrainingOptions recipe)
    {
        var recipes = recipe.Postprocessing.ToPostProcessingOptions();
        SegmentOptions? Normalized(SegmentOptions? options) => options?.PostProcessing == recipes ? options with { PostProcessing = null } : options;
        return JsonSerializer.Serialize(Normalized(stored)) == JsonSerializer.Serialize(Normalized(current));
    }

    /// <summary>A plan's three parts: the fold lines, the recipe's YAML, and the segmentation's JSON (its last line).</summary>
    private static (string Folds, string Options, string Segmentation) Split(string plan)
    {
        string[] lines = plan.Split('\n');
        // The recipe's YAML starts with its first key, data:; fold names (fold1, DWI, a stack's id) never look like it.
        int foldLines = Array.FindIndex(lines, l => l.StartsWith("data:", StringComparison.Ordinal));
        if (foldLines < 0) return (plan, "", "");
        return (string.Join('\n', lines[..foldLines]), string.Join('\n', lines[foldLines..^1]), lines[^1]);
    }

    internal static string Describe(CrossValidationOptions options, TrainingOptions recipe, IReadOnlyList<Fold> folds, string? modelsFrom = null) =>
        $"folds {options.Folds}\n" + (modelsFrom is null ? "" : $"models from {Path.GetFullPath(modelsFrom)}\n") + string.Join("\n", folds.Select(f => $"{f.Name}: test {string.Join(",", f.Test.Select(s => s.Id))}")) +
        "\n" + recipe.ToYaml() + JsonSerializer.Serialize(options.Segmentation);

    private static FoldResult RunFold(CrossValidationOptions options, TrainingOptions recipe, Fold fold, int count,
        ICrossValidationObserver observer, CancellationToken cancellationToken)
    {
        string runFolder = FoldFolder(recipe, fold);
        var training = FoldRecipe(recipe, fold);
        var run = new RunFolder(runFolder);
        string? last = run.FindCheckpoint("last");
        observer.FoldStarting(fold, count, last is null ? FoldStart.Training : FoldStart.Resuming);
        TrainingResult trained = last is null ? Trainer.Train(training, runFolder, observer.Training, cancellationToken)
            : RunFolder.ReadState(last).StopReason is null ? Trainer.Resume(runFolder, observer.Training, cancellationToken)
            : ReadSummary(run);
        cancellationToken.ThrowIfCancellationRequested();

        var scoring = ScoreFold(options, recipe, fold, runFolder, score => observer.StackScored(fold, score), cancellationToken);
        return new FoldResult(fold.Name, fold.Index, fold.Train.Select(s => s.Id).ToList(), fold.Test.Select(s => s.Id).ToList(), runFolder,
            trained.EpochsRun, trained.TotalEnergyKj, scoring.InferenceKj, trained.EnergyEstimated || scoring.EnergyEstimated,
            trained.Duration.TotalSeconds + scoring.Duration.TotalSeconds, scoring.Scores);
    }

    /// <summary>
    /// The data, folds and recipe of the cross-validation <see cref="CrossValidationOptions.ModelsFrom"/> names, in place of
    /// the options' own; the options as they are without it.
    /// </summary>
    private static CrossValidationOptions WithModelSource(CrossValidationOptions options)
    {
        if (options.ModelsFrom is not { } source) return options;
        using var store = OpenModelSource(source);
        string recipeYaml = store.GetMeta("options") ?? throw new InvalidInputException(store.Path, "holds no recipe: is it a cross-validation GreenSeg wrote?");
        string folds = store.GetMeta("folds") ?? throw new InvalidInputException(store.Path, "holds no fold plan: is it a cross-validation GreenSeg wrote?");
        var recipe = TrainingOptions.ParseWritten(recipeYaml, store.Path);
        return options with { Data = recipe.Data, Folds = FoldSpec.Parse(folds), Training = recipe, ModelsFrom = null };
    }

    private static CrossValidationStore OpenModelSource(string folder) => CrossValidationStore.Exists(folder)
        ? CrossValidationStore.Open(folder, readOnly: true)
        : throw new InvalidInputException(Path.GetFullPath(folder), $"holds no {CrossValidationStore.FileName}: models can only come from a cross-validation's folder");

    /// <summary>The source's finished folds by name, each checked to have trained on and held out what <paramref name="folds"/> plan.</summary>
    private static Dictionary<string, FoldResult> TrainedFolds(string source, IReadOnlyList<Fold> folds)
    {
        using var store = OpenModelSource(source);
        var trained = store.Folds().ToDictionary(f => f.Name, StringComparer.Ordinal);
        foreach (var fold in folds)
        {
            if (!trained.TryGetValue(fold.Name, out var result))
                throw new InvalidInputException(store.Path, $"has not finished fold {fold.Name}: run that cross-validation again to finish it first");
            if (!result.TrainStacks.Order().SequenceEqual(fold.Train.Select(s => s.Id).Order()) || !result.TestStacks.Order().SequenceEqual(fold.Test.Select(s => s.Id).Order()))
                throw new InvalidInputException(store.Path, $"fold {fold.Name} held out {string.Join(", ", result.TestStacks)}, not the {string.Join(", ", fold.Test.Select(s => s.Id))} its plan gives today");
        }
        return trained;
    }

    /// <summary>A fold whose model another cross-validation trained: its held-out stacks scored here, its training energy and time kept.</summary>
    private static FoldResult ScoreTrainedFold(CrossValidationOptions options, TrainingOptions recipe, Fold fold, int count, FoldResult trained,
        ICrossValidationObserver observer, CancellationToken cancellationToken)
    {
        observer.FoldStarting(fold, count, FoldStart.ScoringOnly);
        var scoring = ScoreFold(options, recipe, fold, trained.RunFolder, score => observer.StackScored(fold, score), cancellationToken,
            Path.Combine(FoldFolder(recipe, fold), PredictionsFolderName));
        return trained with
        {
            InferenceKj = scoring.InferenceKj,
            EnergyEstimated = trained.EnergyEstimated || scoring.EnergyEstimated,
            Seconds = trained.Seconds + scoring.Duration.TotalSeconds,
            Scores = scoring.Scores,
        };
    }

    /// <summary>
    /// Segments each of the fold's held-out stacks, reassembled in 3D, with the model in <paramref name="runFolder"/> exactly as
    /// <c>greenseg segment</c> does, writes the masks under <paramref name="predictionsFolder"/> (default: the run folder's
    /// predictions/), and scores them; the inference energy is measured.
    /// </summary>
    public static FoldScoring ScoreFold(CrossValidationOptions options, TrainingOptions recipe, Fold fold, string runFolder,
        Action<StackScore>? scored = null, CancellationToken cancellationToken = default, string? predictionsFolder = null)
    {
        var inferenceClock = Stopwatch.StartNew();
        var device = TorchRuntime.ResolveDevice(recipe.Compute.Device);
        using var segmenter = Segmenter.Load(runFolder, options.Segmentation with { Device = recipe.Compute.Device, Threads = recipe.Compute.Threads });
        using var energy = EnergySession.Start(recipe.ToEnergyOptions(device), $"crossval {fold.Name}");
        energy.Monitor.BeginWindow("inference");
        string predictions = predictionsFolder ?? Path.Combine(runFolder, PredictionsFolderName);
        Directory.CreateDirectory(predictions);
        var scores = new List<StackScore>();
        foreach (var stack in fold.Test)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var assembled = StackVolume.Assemble(stack);
            var segmentation = segmenter.Segment(assembled.Image, keepProbabilities: true);
            segmentation.Mask.Write(Path.Combine(predictions, PredictionFileName(stack.Id)));
            var metrics = SegmentationMetrics.Compute(segmentation.Mask.BinaryMask(), assembled.MaskVoxels, assembled.Image.Grid);
            byte[] thresholded = PostProcessing.Threshold(segmentation.Probabilities!.Scaled(), segmenter.Options.Threshold);
            var score = new StackScore(fold.Name, stack.Id, stack.Sequence, stack.Slices.Count, metrics.Dice, metrics.Hd95Mm, metrics.AssdMm,
                metrics.PredictedVolumeMl, metrics.TruthVolumeMl, Overlap.Dice(thresholded, assembled.MaskVoxels), segmentation.LargeComponentsBeforePostProcessing,
                ScoreComponentSelections(thresholded, assembled, segmenter.ResolvedPostProcessing));
            scores.Add(score);
            scored?.Invoke(score);
        }
        var inference = energy.Monitor.EndWindow("inference");
        return new FoldScoring(scores, inference.TotalJoules / 1000, inference.AnyEstimated, inferenceClock.Elapsed);
    }

    /// <summary>The stack's Dice after each component selection, the rest of <paramref name="scored"/> kept.</summary>
    private static ComponentDices ScoreComponentSelections(byte[] thresholded, AssembledStack assembled, PostProcessingOptions scored)
    {
        double DiceWith(ComponentSelection selection) =>
            Overlap.Dice(PostProcessing.Apply(thresholded, assembled.Image.Grid, scored with { Components = selection }), assembled.MaskVoxels);
        return new ComponentDices(DiceWith(ComponentSelection.Largest), DiceWith(ComponentSelection.Large), DiceWith(ComponentSelection.All));
    }

    private static TrainingResult ReadSummary(RunFolder run)
    {
        if (!File.Exists(run.SummaryPath)) throw new InvalidInputException(run.Path, "finished training but has no summary.json; delete the fold folder to retrain it");
        return JsonSerializer.Deserialize<TrainingResult>(File.ReadAllText(run.SummaryPath), RunFolder.JsonOptions)
            ?? throw new InvalidInputException(run.SummaryPath, "empty training summary");
    }
}
