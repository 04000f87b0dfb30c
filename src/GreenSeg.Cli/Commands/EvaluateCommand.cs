using System.ComponentModel;
using System.Globalization;
using GreenSeg.Evaluation;
using GreenSeg.Review;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class EvaluateSettings : CommandSettings
{
    [CommandOption("--pred <DIR>")]
    [Description("Folder of predicted masks (.nii/.nii.gz).")]
    public string? Prediction { get; init; }

    [CommandOption("--truth <DIR>")]
    [Description("Folder of reference masks; their voxel spacing is used.")]
    public string? Truth { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Where cases.csv and summary.json go.")]
    [DefaultValue("evaluation")]
    public string Out { get; init; } = "evaluation";

    [CommandOption("--images <DIR>")]
    [Description("Folder of the stacks the masks were made from (matched by case name): the review mosaics draw both outlines over them (else over black).")]
    public string? Images { get; init; }

    [CommandOption("--no-preview")]
    [Description("Skip review.html and the mosaics in --out.")]
    public bool NoPreview { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Prediction) ? ValidationResult.Error("--pred DIR is required")
        : string.IsNullOrWhiteSpace(Truth) ? ValidationResult.Error("--truth DIR is required")
        : ValidationResult.Success();
}

/// <summary>`greenseg evaluate`: Dice, IoU, HD95, ASSD and volume difference per case, summary and files.</summary>
public sealed class EvaluateCommand : Command<EvaluateSettings>
{
    public override int Execute(CommandContext context, EvaluateSettings settings, CancellationToken cancellationToken)
    {
        var report = Evaluator.EvaluateFolders(settings.Prediction!, settings.Truth!, cancellationToken: cancellationToken);
        var (casesPath, summaryPath) = EvaluationReportFiles.Write(report, settings.Out);

        if (Terminal.IsInteractive) PrintTable(report);
        else PrintPlain(report);
        foreach (string file in report.UnmatchedPredictions)
            AnsiConsole.MarkupLineInterpolated($"[yellow]unmatched prediction:[/] {file}");
        foreach (string file in report.UnmatchedTruths)
            AnsiConsole.MarkupLineInterpolated($"[yellow]unmatched truth:[/] {file}");
        foreach (var failure in report.Failed)
            AnsiConsole.MarkupLineInterpolated($"[red]failed[/] {failure.Name}: {failure.Error}");
        AnsiConsole.MarkupLineInterpolated($"wrote {casesPath} and {summaryPath}");
        if (!settings.NoPreview)
            ReviewConsole.Print(ReviewWriter.Write(settings.Out, "GreenSeg evaluation review", ReviewSources.ForEvaluation(report, settings.Images)));

        if (report.Failed.Count == 0) return 0;
        AnsiConsole.MarkupLineInterpolated($"[red]{report.Failed.Count} of {report.Cases.Count} case(s) could not be evaluated[/]");
        return CliErrors.InputError;
    }

    private static void PrintTable(EvaluationReport report)
    {
        var table = new Table().AddColumn(new TableColumn("case").NoWrap());
        foreach (var metric in CaseMetric.All) table.AddColumn(new TableColumn(metric.Label).RightAligned());
        foreach (var result in report.Cases.Where(c => c.Succeeded))
            table.AddRow([Markup.Escape(result.Name), .. CaseMetric.All.Select(m => Format(m, m.Value(result.Metrics!)))]);
        if (report.Summary.Cases > 0)
        {
            table.AddEmptyRow();
            table.AddRow(["[bold]mean ± sd[/]", .. CaseMetric.All.Select(m => MeanAndDeviation(m, report.Summary[m]))]);
            table.AddRow(["[bold]median[/]", .. CaseMetric.All.Select(m => Format(m, report.Summary[m].Median))]);
            table.AddRow(["[bold]n (excl.)[/]", .. CaseMetric.All.Select(m => $"{report.Summary[m].N} ({report.Summary[m].Excluded})")]);
        }
        AnsiConsole.Write(table);
    }

    private static void PrintPlain(EvaluationReport report)
    {
        foreach (var result in report.Cases.Where(c => c.Succeeded))
            Console.WriteLine($"{result.Name} " + string.Join(" ", CaseMetric.All.Select(m => $"{m.Key}={Format(m, m.Value(result.Metrics!))}")));
        foreach (var metric in CaseMetric.All)
        {
            var s = report.Summary[metric];
            Console.WriteLine($"summary {metric.Key} mean={Format(metric, s.Mean)} sd={Format(metric, s.StandardDeviation)} " +
                $"median={Format(metric, s.Median)} n={s.N} excluded={s.Excluded}");
        }
    }

    private static string MeanAndDeviation(CaseMetric metric, MetricStatistics statistics) =>
        statistics.StandardDeviation is null ? Format(metric, statistics.Mean)
            : $"{Format(metric, statistics.Mean)} ± {Format(metric, statistics.StandardDeviation)}";

    private static string Format(CaseMetric metric, double? value) =>
        value?.ToString(metric.DisplayFormat, CultureInfo.InvariantCulture) ?? "undefined";
}
