using System.ComponentModel;
using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Studies.Reporting;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class ReportSettings : CommandSettings
{
    [CommandArgument(0, "<RESULTS>")]
    [Description("A study folder (holding study.db), a study.db file, a tune folder (holding tune.db: report and best.yaml), or a cross-validation folder (holding crossval.db: crossval-report.md and review.html). Several cross-validation folders: each compared with the first, stack by stack (crossval-comparison.md with --out).")]
    public string[] Results { get; init; } = [];

    [CommandOption("-o|--out <DIR>")]
    [Description("Where to write report.md, report.html and the PNGs (default: the study folder); for several cross-validations, where to write crossval-comparison.md (default: printed only).")]
    public string? Out { get; init; }

    [CommandOption("--components <WHICH>")]
    [TypeConverter(typeof(ChoiceConverter<GreenSeg.Transforms.ComponentSelection>))]
    [Description("For several cross-validations: pair every stack's Dice after this component selection (largest | large | all), whatever each recipe keeps (default: each recipe's own post-processing).")]
    public GreenSeg.Transforms.ComponentSelection? Components { get; init; }
}

/// <summary>greenseg report: the Markdown and self-contained HTML report of a study.</summary>
public sealed class ReportCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Results.Length > 1) return Compare(settings);
        string results = settings.Results[0];
        if (Directory.Exists(results) && CrossValidation.CrossValidationStore.Exists(results))
        {
            var crossval = CrossValidation.CrossValidationResults.Load(results);
            CrossvalCommand.Print(crossval);
            if (settings.Out is not null) Directory.CreateDirectory(settings.Out);
            ConsoleTable.Line($"wrote {crossval.WriteReport(settings.Out)}");
            ReviewConsole.Print(CrossValidation.CrossValidationReview.Write(crossval, settings.Out));
            return 0;
        }
        if (Directory.Exists(results) && Tuning.TuneStore.Exists(results))
        {
            var search = Tuning.TuneResults.Load(results);
            TuneCommand.Print(search);
            if (settings.Out is not null) Directory.CreateDirectory(settings.Out);
            var written = Tuning.TuneReport.Write(search, settings.Out);
            ConsoleTable.Line($"search '{search.Name}': {search.Trials.Count} trials{(search.AnyEstimated ? " (energy estimated)" : "")}");
            ConsoleTable.Line($"wrote {written.Report.Markdown}, {written.Report.Html} and {written.Report.Images.Count} images{(written.BestConfig is { } best ? $"; best recipe {best}" : "")}");
            return 0;
        }
        var study = StudyResults.Load(results);
        var files = StudyReport.Write(study, settings.Out ?? Path.GetDirectoryName(study.DatabasePath)!);
        ConsoleTable.Line($"study '{study.Name}': {study.Runs.Count} runs{(study.AnyEstimated ? " (energy estimated)" : "")}");
        ConsoleTable.Line($"wrote {files.Markdown}, {files.Html} and {files.Images.Count} images");
        return 0;
    }

    /// <summary>Several cross-validations, each paired with the first stack by stack.</summary>
    private static int Compare(ReportSettings settings)
    {
        foreach (string folder in settings.Results)
            if (!CrossValidation.CrossValidationStore.Exists(folder))
                throw new Common.InvalidInputException(folder, "not a cross-validation folder (no crossval.db): only cross-validations can be compared");
        var comparison = CrossValidation.CrossValidationComparison.Load(settings.Results, settings.Components);
        ConsoleTable.Write(["cross-validation", "folds", "stacks", "mean Dice", "training kJ per fold"],
            comparison.Results.Select((r, i) => new[]
            {
                comparison.Labels[i] + (i == 0 ? " (reference)" : ""), r.Folds, r.Stacks.Count.ToString(CultureInfo.InvariantCulture),
                r.MeanDice.ToString("0.000", CultureInfo.InvariantCulture), r.TrainingKjPerFold.ToString("0.0", CultureInfo.InvariantCulture),
            }), 2, 3, 4);
        ConsoleTable.Write(["against " + comparison.Labels[0], "paired", "same folds", "mean difference", "95% interval", "better/worse/within 0.01", "p (sign flips)"],
            comparison.Candidates.Select(c => new[]
            {
                c.Label, c.SharedStacks.ToString(CultureInfo.InvariantCulture), c.SameFolds ? "yes" : "no",
                c.Differences.MeanDifference.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture),
                FormattableString.Invariant($"{c.Differences.IntervalLow:+0.000;-0.000;0.000} to {c.Differences.IntervalHigh:+0.000;-0.000;0.000}"),
                FormattableString.Invariant($"{c.Differences.Better}/{c.Differences.Worse}/{c.Differences.Within}"),
                c.Differences.PValue.ToString("0.000", CultureInfo.InvariantCulture),
            }), 1, 3, 6);
        foreach (var c in comparison.Candidates.Where(c => c.RecipeDifferences.Count > 0))
            ConsoleTable.Line($"{c.Label}: " + string.Join(", ", c.RecipeDifferences.Select(r => $"{r.Path} {r.Reference} → {r.Candidate}")));
        if (comparison.Components is { } components)
            ConsoleTable.Line($"every stack scored after --components {ChoiceNames.Name(components)}, whatever its recipe keeps");
        else if (comparison.CouldPairOneSelection)
            ConsoleTable.Line("every stack as its own cross-validation post-processed it; --components largest|large|all pairs them after one selection");
        if (settings.Out is null)
        {
            ConsoleTable.Line("--out DIR writes the comparison with every stack to DIR/crossval-comparison.md");
            return 0;
        }
        Directory.CreateDirectory(settings.Out);
        ConsoleTable.Line($"wrote {comparison.WriteReport(settings.Out)}");
        return 0;
    }
}
