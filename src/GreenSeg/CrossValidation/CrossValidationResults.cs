using System.Globalization;
using System.Text;
using GreenSeg.Common;

namespace GreenSeg.CrossValidation;

/// <summary>One sequence's held-out stacks: how many, their mean Dice and the worst stack.</summary>
public sealed record SequenceSummary(string Sequence, int Stacks, double MeanDice, double WorstDice, string WorstStack);

/// <summary>One component selection scored over every held-out stack: mean, mean per sequence, worst stack.</summary>
public sealed record ComponentSelectionSummary(Transforms.ComponentSelection Selection, double MeanDice,
    IReadOnlyList<(string Sequence, double MeanDice)> BySequence, string WorstStack, double WorstDice);

/// <summary>
/// A cross-validation's outcome read back from its store: every held-out stack's scores, the mean over
/// stacks (each stack counts once, however many slices it has), mean and worst per sequence, and the
/// energy of all folds (training plus inference).
/// </summary>
public sealed record CrossValidationResults
{
    public required string Folder { get; init; }
    public required string Folds { get; init; }
    public required string OptionsYaml { get; init; }
    public required IReadOnlyList<FoldResult> FoldResults { get; init; }
    /// <summary>How the held-out stacks were segmented (null for a store whose plan does not say).</summary>
    public Inference.SegmentOptions? Segmentation { get; init; }
    /// <summary>The review page, when this run wrote one.</summary>
    public Review.ReviewResult? Review { get; init; }

    public IReadOnlyList<StackScore> Stacks => FoldResults.SelectMany(f => f.Scores).OrderBy(s => s.Stack, StringComparer.Ordinal).ToList();
    public double MeanDice => Stacks.Count == 0 ? double.NaN : Stacks.Average(s => s.Dice);
    public StackScore? Worst => Stacks.MinBy(s => s.Dice);
    public double TrainingKj => FoldResults.Sum(f => f.TrainingKj);
    public double InferenceKj => FoldResults.Sum(f => f.InferenceKj);
    /// <summary>Mean training energy of one fold: what one training run of this recipe costs.</summary>
    public double TrainingKjPerFold => FoldResults.Count == 0 ? 0 : TrainingKj / FoldResults.Count;
    public bool EnergyEstimated => FoldResults.Any(f => f.EnergyEstimated);
    public double Seconds => FoldResults.Sum(f => f.Seconds);

    public IReadOnlyList<SequenceSummary> BySequence => Stacks.GroupBy(s => s.Sequence, StringComparer.Ordinal)
        .OrderBy(g => g.Key, StringComparer.Ordinal)
        .Select(g =>
        {
            var worst = g.MinBy(s => s.Dice)!;
            return new SequenceSummary(g.Key, g.Count(), g.Average(s => s.Dice), worst.Dice, worst.Stack);
        }).ToList();

    /// <summary>
    /// Each component selection's mean Dice over the stacks and per sequence, from the same predictions (all stacks scored
    /// each way; empty for cross-validations scored before that was kept): the post-processing a recipe should carry.
    /// </summary>
    public IReadOnlyList<ComponentSelectionSummary> ByComponentSelection
    {
        get
        {
            var stacks = Stacks;
            if (stacks.Count == 0 || !ScoredEverySelection) return [];
            return new[] { Transforms.ComponentSelection.Largest, Transforms.ComponentSelection.Large, Transforms.ComponentSelection.All }.Select(selection =>
            {
                var worst = stacks.MinBy(s => s.ByComponents!.For(selection))!;
                return new ComponentSelectionSummary(selection, stacks.Average(s => s.ByComponents!.For(selection)),
                    stacks.GroupBy(s => s.Sequence, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                        .Select(g => (g.Key, g.Average(s => s.ByComponents!.For(selection)))).ToList(),
                    worst.Stack, worst.ByComponents!.For(selection));
            }).ToList();
        }
    }

    /// <summary>Whether every stack was scored after each component selection too (cross-validations before that was kept were not).</summary>
    public bool ScoredEverySelection => FoldResults.All(f => f.Scores.All(s => s.ByComponents is not null));

    /// <summary>
    /// The same results with every stack's Dice the one after <paramref name="selection"/> instead of after the recipe's own
    /// post-processing (distances and volumes stay the recipe's), so that recipes keeping different components are compared
    /// on one. Refused, naming the folder, for stacks scored before each selection was kept.
    /// </summary>
    public CrossValidationResults WithComponents(Transforms.ComponentSelection selection)
    {
        if (!ScoredEverySelection)
            throw new InvalidInputException(Folder, $"{Stacks.First(s => s.ByComponents is null).Stack} was scored before each component selection was kept; " +
                "its stacks can only be compared as their recipe post-processed them (without --components)");
        return this with
        {
            FoldResults = [.. FoldResults.Select(f => f with { Scores = [.. f.Scores.Select(s => s with { Dice = s.ByComponents!.For(selection) })] })],
        };
    }

    public static CrossValidationResults From(CrossValidationStore store) => new()
    {
        Folder = Path.GetDirectoryName(store.Path)!,
        Folds = store.GetMeta("folds") ?? "?",
        OptionsYaml = store.GetMeta("options") ?? "",
        FoldResults = store.Folds(),
        Segmentation = store.GetMeta(CrossValidationRunner.PlanKey) is { } plan ? CrossValidationRunner.PlanSegmentation(plan) : null,
    };

    public static CrossValidationResults Load(string folder)
    {
        using var store = CrossValidationStore.Open(folder, readOnly: true);
        return From(store);
    }

    /// <summary>The report as Markdown: summary line, per-sequence table, per-stack table, per-fold cost, the recipe.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        string estimated = EnergyEstimated ? " (estimated)" : "";
        text.AppendLine(Invariant($"# Cross-validation (folds: {Folds})"))
            .AppendLine()
            .AppendLine(Invariant($"{Stacks.Count} held-out stacks in {FoldResults.Count} folds: mean Dice **{MeanDice:0.000}**, worst {Worst?.Stack} {Worst?.Dice:0.000}; ") +
                Invariant($"training {TrainingKj:0.0} kJ in all ({TrainingKjPerFold:0.0} kJ per fold), inference {InferenceKj:0.00} kJ{estimated}; {TimeSpan.FromSeconds(Seconds):hh\\:mm\\:ss}."))
            .AppendLine()
            .AppendLine("Scores are 3D per stack after post-processing, exactly as `greenseg segment` writes masks" +
                (Segmentation is { } segmentation ? $" (`{segmentation.MaskOptions()}`)." : "."))
            .AppendLine()
            .AppendLine("| sequence | stacks | mean Dice | worst stack |")
            .AppendLine("|---|---:|---:|---|");
        foreach (var sequence in BySequence)
            text.AppendLine(Invariant($"| {sequence.Sequence} | {sequence.Stacks} | {sequence.MeanDice:0.000} | {sequence.WorstStack} {sequence.WorstDice:0.000} |"));
        text.AppendLine()
            .AppendLine("| stack | fold | slices | Dice | Dice before post-processing | HD95 mm | ASSD mm | predicted ml | reference ml |")
            .AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in Stacks)
            text.AppendLine(Invariant($"| {s.Stack} | {s.Fold} | {s.Slices} | {s.Dice:0.000} | {(s.RawDice is double raw ? raw.ToString("0.000", CultureInfo.InvariantCulture) : "-")} | {Format(s.Hd95Mm)} | {Format(s.AssdMm)} | {s.PredictedMl:0.0} | {s.TruthMl:0.0} |"));
        if (ByComponentSelection is { Count: > 0 } selections)
        {
            var best = selections.MaxBy(c => c.MeanDice)!;
            text.AppendLine()
                .AppendLine("Which connected components to keep (`--components`), each scored on the same predictions, the rest of the post-processing as above:")
                .AppendLine()
                .AppendLine($"| components | mean Dice | {string.Join(" | ", best.BySequence.Select(s => s.Sequence))} | worst stack |")
                .AppendLine($"|---|---:|{string.Concat(best.BySequence.Select(_ => "---:|"))}---|");
            foreach (var c in selections)
                text.AppendLine(Invariant($"| {ChoiceNames.Name(c.Selection)} | {c.MeanDice:0.000} | {string.Join(" | ", c.BySequence.Select(s => s.MeanDice.ToString("0.000", CultureInfo.InvariantCulture)))} | {c.WorstStack} {c.WorstDice:0.000} |"));
            text.AppendLine()
                .AppendLine($"Best mean: `--components {ChoiceNames.Name(best.Selection)}`; a recipe carries it into its models' model.json with that training option.");
        }
        text.AppendLine()
            .AppendLine($"| fold | trained on | epochs | training kJ{estimated} | inference kJ | time |")
            .AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (var f in FoldResults)
            text.AppendLine(Invariant($"| {f.Name} | {f.TrainStacks.Count} stacks | {f.Epochs} | {f.TrainingKj:0.0} | {f.InferenceKj:0.00} | {TimeSpan.FromSeconds(f.Seconds):hh\\:mm\\:ss} |"));
        text.AppendLine().AppendLine("Recipe:").AppendLine().AppendLine("```yaml").Append(OptionsYaml).AppendLine("```");
        return text.ToString();
    }

    /// <summary>Writes OUT/crossval-report.md and returns its path.</summary>
    public string WriteReport(string? folder = null)
    {
        string path = Path.Combine(folder ?? Folder, "crossval-report.md");
        AtomicFile.WriteAllText(path, ToMarkdown());
        return path;
    }

    private static string Format(double? value) => value is double v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "-";
    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
