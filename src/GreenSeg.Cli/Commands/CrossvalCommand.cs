using System.ComponentModel;
using System.Globalization;
using GreenSeg.Transforms;
using GreenSeg.CrossValidation;
using GreenSeg.Inference;
using GreenSeg.Training;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class CrossvalSettings : TrainingRecipeSettings
{
    [CommandOption("--data <PATH>")] [Description("The labelled stacks: E2MIP folder, paired images/ masks/ folder, or .csv.")]
    public string? Data { get; init; }
    [CommandOption("--folds <FOLDS>")] [Description("A number k (k-fold by stack, sequences spread over folds; default 5), sequence (leave one sequence out) or stack (leave one stack out).")]
    public string? FoldsText { get; init; }
    [CommandOption("-o|--out <DIR>")] [Description("Where folds, crossval.db and the report go (default crossval/<time>-<model>); run again to resume.")]
    public string? Out { get; init; }
    [CommandOption("--no-preview")] [Description("Skip review.html (by default written once every fold is scored: each held-out stack's mosaic with prediction and reference outlined).")]
    public bool NoPreview { get; init; }
    [CommandOption("--tta <MIRRORS>")] [TypeConverter(typeof(ChoiceConverter<TestTimeAugmentation>))] [Description("Test-time augmentation of held-out stacks, as segment --tta: none | left-right | flips.")]
    [ChoiceDefault<TestTimeAugmentation>(TestTimeAugmentation.LeftRight)]
    public TestTimeAugmentation Tta { get; init; } = TestTimeAugmentation.LeftRight;
    [CommandOption("--models-from <DIR>")] [Description("Score the fold models of an earlier cross-validation (its data, folds and recipe; give no training options) instead of training: compares --views, --tta, --threshold and --components (which then replace the post-processing the models carry) without retraining.")]
    public string? ModelsFrom { get; init; }
    [CommandOption("--views <VIEWS>")] [TypeConverter(typeof(ChoiceConverter<SegmentationViews>))] [Description("How held-out stacks are segmented, as segment --views: stored | three-planes.")]
    [ChoiceDefault<SegmentationViews>(SegmentationViews.Stored)]
    public SegmentationViews Views { get; init; } = SegmentationViews.Stored;
    [CommandOption("--threshold <P>")] [Description("Probability above which a voxel is brain, as segment --threshold.")]
    [DefaultValue(0.5f)]
    public float Threshold { get; init; } = 0.5f;
    /// <summary>How held-out stacks are segmented: segment's defaults with these options.</summary>
    public SegmentOptions Segmentation() => new()
    {
        Views = Views,
        Tta = Tta,
        Threshold = Threshold,
        // Training, --components and --min-component-share are the recipe's (its fold models carry them); scoring another
        // cross-validation's models, they replace the post-processing those models carry.
        PostProcessing = ModelsFrom is null ? null : SegmentSettings.GivenComponents(Components, MinComponentShare),
    };

    protected override IEnumerable<GreenSeg.Training.OptionSetting> DataSettings() => new FlagSettings().Add("data", Data).Settings;
}

/// <summary>greenseg crossval: cross-validation by stack, scored in 3D per stack as segment writes masks; resumable.</summary>
public sealed class CrossvalCommand : Command<CrossvalSettings>
{
    public override int Execute(CommandContext context, CrossvalSettings settings, CancellationToken cancellationToken)
    {
        var recipe = settings.Resolve();
        // --components and --min-component-share are segmentation options there, not training ones.
        if (settings.ModelsFrom is not null && (settings.Data is not null || settings.FoldsText is not null
                || (recipe with { Postprocessing = new() }).ToYaml() != new CrossvalSettings().Resolve().ToYaml()))
            throw new Common.GreenSegException("--models-from scores that cross-validation's models with its own data, folds and recipe: give no --data, no --folds and no training options (but --components and --min-component-share)");
        string data = settings.ModelsFrom is not null ? "" : settings.Data ?? (recipe.Data.Length > 0 ? recipe.Data : throw new Common.GreenSegException("no data: give --data PATH"));
        var options = new CrossValidationOptions
        {
            Data = data,
            Folds = FoldSpec.Parse(settings.FoldsText ?? "5"),
            OutputFolder = settings.Out ?? Path.Combine("crossval", $"{DateTime.Now:yyyyMMdd-HHmmss}-{recipe.Model}"),
            Training = recipe,
            Review = !settings.NoPreview,
            Segmentation = settings.Segmentation(),
            ModelsFrom = settings.ModelsFrom,
        };
        var (folds, planned) = CrossValidationRunner.Plan(options);
        string source = options.ModelsFrom is null ? "" : $"; models from {Path.GetFullPath(options.ModelsFrom)}";
        ConsoleTable.Line($"cross-validation: {folds.Count} folds over {folds.Sum(f => f.Test.Count)} stacks, {planned.Schedule.Epochs} epochs each{source}; folder {Path.GetFullPath(options.OutputFolder)}");
        var results = ProgressObserver.Run(training => CrossValidationRunner.Run(options, new ConsoleObserver(training), cancellationToken));
        Print(results);
        if (results.FoldResults.Count < folds.Count)
        {
            ConsoleTable.Line("stopped before the end; run the same command again to continue");
            return 130;
        }
        ConsoleTable.Line($"report: {results.WriteReport()}");
        if (results.Review is { } review) ReviewConsole.Print(review);
        return 0;
    }

    internal static void Print(CrossValidationResults results)
    {
        ConsoleTable.Write(["sequence", "stacks", "mean Dice", "worst stack"],
            results.BySequence.Select(s => new[]
            {
                s.Sequence, s.Stacks.ToString(CultureInfo.InvariantCulture), s.MeanDice.ToString("0.000", CultureInfo.InvariantCulture),
                FormattableString.Invariant($"{s.WorstStack} {s.WorstDice:0.000}"),
            }), 1, 2);
        ConsoleTable.Line(FormattableString.Invariant(
            $"mean Dice over {results.Stacks.Count} stacks {results.MeanDice:0.000}; training {results.TrainingKj:0.0} kJ ({results.TrainingKjPerFold:0.0} per fold), inference {results.InferenceKj:0.00} kJ{(results.EnergyEstimated ? " (estimated)" : "")}"));
        if (results.ByComponentSelection is { Count: > 0 } selections)
            ConsoleTable.Line("mean Dice keeping components " + string.Join(", ", selections.Select(c =>
                FormattableString.Invariant($"{GreenSeg.Common.ChoiceNames.Name(c.Selection)} {c.MeanDice:0.000}"))));
    }

    private sealed class ConsoleObserver(ITrainingObserver training) : ICrossValidationObserver
    {
        public ITrainingObserver Training => training;

        public void FoldStarting(Fold fold, int count, FoldStart start) =>
            training.Message(start == FoldStart.ScoringOnly
                ? $"[{fold.Index + 1}/{count}] scoring {fold.Name}'s model: testing on {string.Join(", ", fold.Test.Select(s => s.Id))}"
                : $"[{fold.Index + 1}/{count}] {(start == FoldStart.Resuming ? "resuming" : "training")} {fold.Name}: {fold.Train.Count} stacks; testing on {string.Join(", ", fold.Test.Select(s => s.Id))}");

        public void FoldSkipped(Fold fold, int count) => training.Message($"[{fold.Index + 1}/{count}] {fold.Name}: already scored, skipped");

        public void StackScored(Fold fold, StackScore score) =>
            training.Message(FormattableString.Invariant($"  {score.Stack}: Dice {score.Dice:0.000}, HD95 {score.Hd95Mm?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-"} mm, {score.PredictedMl:0.0} ml predicted / {score.TruthMl:0.0} ml"));

        // A long run's progress at a glance, resumed runs' earlier folds included.
        public void FoldScored(Fold fold, int count, CrossValidationResults soFar) =>
            training.Message(FormattableString.Invariant(
                $"[{fold.Index + 1}/{count}] {fold.Name} scored; so far {soFar.FoldResults.Count} of {count} folds: mean Dice {soFar.MeanDice:0.000} over {soFar.Stacks.Count} stacks, worst {soFar.Worst?.Stack} {soFar.Worst?.Dice:0.000}; training {soFar.TrainingKj:0.0} kJ"));
    }
}
