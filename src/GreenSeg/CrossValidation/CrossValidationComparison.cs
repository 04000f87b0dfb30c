using System.Globalization;
using System.Text;
using GreenSeg.Common;
using GreenSeg.Evaluation;
using GreenSeg.Training;

namespace GreenSeg.CrossValidation;

/// <summary>A held-out stack's Dice in each compared cross-validation (null where that one did not test it).</summary>
public sealed record ComparedStack(string Stack, string Sequence, IReadOnlyList<double?> Dice);

/// <summary>
/// One cross-validation against the reference, stack by stack: the stacks both tested, whether each was held out of the
/// same training stacks in both (the same folds: only the recipe differs), the paired differences in Dice, and the
/// options in which the recipes differ.
/// </summary>
public sealed record CandidateComparison(string Label, CrossValidationResults Candidate, int SharedStacks, bool SameFolds,
    PairedDifferences Differences, IReadOnlyList<(string Path, string Reference, string Candidate)> RecipeDifferences);

/// <summary>
/// Several cross-validations of the same data side by side, each paired with the first (the reference) on the stacks both
/// held out: with 13 stacks a mean moves by 0.05 with the seed alone, so whether a recipe is better is read off the
/// per-stack differences (how many stacks gained and lost, a bootstrap interval of the mean difference, a sign-flip
/// test), not off two means.
/// </summary>
public sealed class CrossValidationComparison
{
    public required IReadOnlyList<string> Labels { get; init; }
    public required IReadOnlyList<CrossValidationResults> Results { get; init; }
    public required IReadOnlyList<CandidateComparison> Candidates { get; init; }
    /// <summary>Every stack any of them tested, by name.</summary>
    public required IReadOnlyList<ComparedStack> Stacks { get; init; }
    /// <summary>The component selection every stack was scored after; null: each recipe's own post-processing.</summary>
    public Transforms.ComponentSelection? Components { get; init; }

    public CrossValidationResults Reference => Results[0];

    /// <summary>
    /// Compares <paramref name="results"/>[1..] with <paramref name="results"/>[0]; each must share held-out stacks with it.
    /// With <paramref name="components"/>, every stack is scored after that component selection, whatever each recipe keeps.
    /// </summary>
    public static CrossValidationComparison Of(IReadOnlyList<CrossValidationResults> results, Transforms.ComponentSelection? components = null)
    {
        if (results.Count < 2) throw new ArgumentException("a comparison needs at least two cross-validations", nameof(results));
        if (components is { } selection) results = [.. results.Select(r => r.WithComponents(selection))];
        var labels = LabelsOf(results);
        var reference = results[0];
        // Each result's Dice and training stacks by held-out stack, read once (Stacks is recomputed on every access).
        var dice = results.Select(r => r.Stacks.ToDictionary(s => s.Stack, s => s.Dice, StringComparer.Ordinal)).ToList();
        var referenceTraining = TrainingStacksByTestStack(reference);
        var referenceRecipe = Recipe(reference);
        var candidates = results.Skip(1).Select((candidate, i) =>
        {
            var shared = dice[i + 1].Keys.Where(dice[0].ContainsKey).ToList();
            if (shared.Count == 0)
                throw new InvalidInputException(candidate.Folder, $"held out no stack that {reference.Folder} held out: cross-validations of different data cannot be compared");
            var differences = PairedDifferences.Of([.. shared.Select(stack => dice[i + 1][stack] - dice[0][stack])]);
            var candidateTraining = TrainingStacksByTestStack(candidate);
            bool sameFolds = shared.All(stack => referenceTraining[stack].SetEquals(candidateTraining[stack]));
            var recipe = TrainingOptionKeys.Differences(referenceRecipe, Recipe(candidate)).Where(d => !Locations.Contains(d.Path)).ToList();
            return new CandidateComparison(labels[i + 1], candidate, shared.Count, sameFolds, differences, recipe);
        }).ToList();
        var stacks = results.SelectMany(r => r.Stacks).GroupBy(s => s.Stack, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ComparedStack(g.Key, g.First().Sequence, [.. dice.Select(d => d.TryGetValue(g.Key, out double value) ? value : (double?)null)]))
            .ToList();
        return new CrossValidationComparison { Labels = labels, Results = results, Candidates = candidates, Stacks = stacks, Components = components };
    }

    public static CrossValidationComparison Load(IReadOnlyList<string> folders, Transforms.ComponentSelection? components = null) =>
        Of([.. folders.Select(CrossValidationResults.Load)], components);

    /// <summary>
    /// Whether the stacks are paired as each cross-validation post-processed them although every one also kept each
    /// selection's score, so that they could be paired after one (<see cref="Of"/>'s components).
    /// </summary>
    public bool CouldPairOneSelection => Components is null && Results.All(r => r.ByComponentSelection.Count > 0);

    /// <summary>The comparison as Markdown: one row per cross-validation, the paired differences, the recipes' differences, every stack.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var sequences = Results.SelectMany(r => r.BySequence.Select(s => s.Sequence)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        text.AppendLine("# Cross-validations compared")
            .AppendLine()
            .AppendLine($"Each against the reference, **{Labels[0]}**, on the stacks both held out (3D Dice per stack after post-processing, as " +
                "`greenseg segment` writes masks" +
                (Components is { } selection ? $", every stack after `--components {ChoiceNames.Name(selection)}` whatever its recipe keeps" : "") +
                "). Over a dozen stacks the seed alone moves a mean by a few hundredths, so read the paired " +
                "columns: the interval of the mean difference and the sign-flip p-value say whether the stacks moved together.")
            .AppendLine()
            .AppendLine($"| cross-validation | folds | stacks | mean Dice | {string.Join(" | ", sequences.Select(s => $"{s} mean / worst"))} | training kJ per fold |")
            .AppendLine($"|---|---|---:|---:|{string.Concat(sequences.Select(_ => "---|"))}---:|");
        for (int i = 0; i < Results.Count; i++)
        {
            var result = Results[i];
            var bySequence = result.BySequence.ToDictionary(s => s.Sequence, StringComparer.Ordinal);
            string cells = string.Join(" | ", sequences.Select(s => bySequence.TryGetValue(s, out var summary) ? Invariant($"{summary.MeanDice:0.000} / {summary.WorstDice:0.000}") : "-"));
            text.AppendLine(Invariant($"| {Labels[i]}{(i == 0 ? " (reference)" : "")} | {result.Folds} | {result.Stacks.Count} | {result.MeanDice:0.000} | {cells} | {result.TrainingKjPerFold:0.0}{(result.EnergyEstimated ? " (est.)" : "")} |"));
        }
        text.AppendLine()
            .AppendLine(Invariant($"| against {Labels[0]} | stacks paired | same folds | mean difference | {PairedDifferences.IntervalLevel:0%} interval (bootstrap) | better / worse / within {PairedDifferences.TieTolerance} | p (sign flips) | training energy |"))
            .AppendLine("|---|---:|---|---:|---|---|---:|---:|");
        foreach (var c in Candidates)
        {
            var d = c.Differences;
            string energy = Reference.TrainingKjPerFold > 0 ? Invariant($"{c.Candidate.TrainingKjPerFold / Reference.TrainingKjPerFold:0.00}×") : "-";
            text.AppendLine(Invariant($"| {c.Label} | {c.SharedStacks} | {(c.SameFolds ? "yes" : "no")} | {d.MeanDifference:+0.000;-0.000;0.000} | {d.IntervalLow:+0.000;-0.000;0.000} to {d.IntervalHigh:+0.000;-0.000;0.000} | {d.Better} / {d.Worse} / {d.Within} | {d.PValue:0.000}{(d.ExactPValue ? "" : " (Monte Carlo)")} | {energy} |"));
        }
        text.AppendLine()
            .AppendLine("Same folds: every paired stack was held out of the same training stacks in both, so only the recipe (and the randomness it draws) differs. " +
                "p: the share of the ways of swapping reference and candidate on each stack whose mean difference is as far from 0; " +
                "small means the stacks moved together, large means the difference is what swapping labels gives anyway.")
            .AppendLine();
        foreach (var c in Candidates)
        {
            text.Append($"{c.Label} differs from {Labels[0]} in ");
            text.AppendLine(c.RecipeDifferences.Count == 0 ? "no training option." :
                string.Join(", ", c.RecipeDifferences.Select(r => $"`{r.Path}` {r.Reference} → {r.Candidate}")) + ".");
            text.AppendLine();
        }
        text.AppendLine($"| stack | {string.Join(" | ", Labels)} |")
            .AppendLine($"|---|{string.Concat(Labels.Select(_ => "---:|"))}");
        foreach (var stack in Stacks)
        {
            double? reference = stack.Dice[0];
            var cells = stack.Dice.Select((dice, i) => dice is not double value ? "-"
                : i == 0 || reference is not double r ? Invariant($"{value:0.000}")
                : Invariant($"{value:0.000} ({value - r:+0.000;-0.000;0.000})"));
            text.AppendLine($"| {stack.Stack} | {string.Join(" | ", cells)} |");
        }
        return text.ToString();
    }

    /// <summary>Writes FOLDER/crossval-comparison.md and returns its path.</summary>
    public string WriteReport(string folder)
    {
        string path = Path.Combine(folder, "crossval-comparison.md");
        AtomicFile.WriteAllText(path, ToMarkdown());
        return path;
    }

    /// <summary>The stacks each held-out stack's fold trained on (one set per fold).</summary>
    private static Dictionary<string, HashSet<string>> TrainingStacksByTestStack(CrossValidationResults results) =>
        results.FoldResults.SelectMany(f =>
            {
                var training = new HashSet<string>(f.TrainStacks, StringComparer.Ordinal);
                return f.Scores.Select(s => (s.Stack, Training: training));
            })
            .ToDictionary(p => p.Stack, p => p.Training, StringComparer.Ordinal);

    /// <summary>Where a run reads its data and writes its folders: the same recipe run from another place is the same recipe.</summary>
    private static readonly HashSet<string> Locations = new(StringComparer.Ordinal) { "data", "validation-data", "output", "loading.cache-dir" };

    /// <summary>The recipe a cross-validation stored, read as it was written (options added since read as they were then).</summary>
    private static TrainingOptions Recipe(CrossValidationResults results) =>
        TrainingOptions.ParseWritten(results.OptionsYaml, Path.Combine(results.Folder, CrossValidationStore.FileName));

    /// <summary>Each folder's own name, or its whole path where two share a name.</summary>
    private static IReadOnlyList<string> LabelsOf(IReadOnlyList<CrossValidationResults> results)
    {
        var names = results.Select(r => Path.GetFileName(Path.TrimEndingDirectorySeparator(r.Folder))).ToList();
        return [.. names.Select((name, i) => names.Count(n => n == name) > 1 || name.Length == 0 ? results[i].Folder : name)];
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
