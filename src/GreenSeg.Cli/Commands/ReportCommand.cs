using System.ComponentModel;
using GreenSeg.Studies.Reporting;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class ReportSettings : CommandSettings
{
    [CommandArgument(0, "<RESULTS>")]
    [Description("A study folder (holding study.db), a study.db file, a tune folder (holding tune.db: report and best.yaml), or a cross-validation folder (holding crossval.db: crossval-report.md and review.html).")]
    public string Results { get; init; } = "";

    [CommandOption("-o|--out <DIR>")]
    [Description("Where to write report.md, report.html and the PNGs (default: the study folder).")]
    public string? Out { get; init; }
}

/// <summary>greenseg report: the Markdown and self-contained HTML report of a study.</summary>
public sealed class ReportCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
    {
        if (Directory.Exists(settings.Results) && CrossValidation.CrossValidationStore.Exists(settings.Results))
        {
            var crossval = CrossValidation.CrossValidationResults.Load(settings.Results);
            CrossvalCommand.Print(crossval);
            if (settings.Out is not null) Directory.CreateDirectory(settings.Out);
            ConsoleTable.Line($"wrote {crossval.WriteReport(settings.Out)}");
            ReviewConsole.Print(CrossValidation.CrossValidationReview.Write(crossval, settings.Out));
            return 0;
        }
        if (Directory.Exists(settings.Results) && Tuning.TuneStore.Exists(settings.Results))
        {
            var search = Tuning.TuneResults.Load(settings.Results);
            TuneCommand.Print(search);
            if (settings.Out is not null) Directory.CreateDirectory(settings.Out);
            var written = Tuning.TuneReport.Write(search, settings.Out);
            ConsoleTable.Line($"search '{search.Name}': {search.Trials.Count} trials{(search.AnyEstimated ? " (energy estimated)" : "")}");
            ConsoleTable.Line($"wrote {written.Report.Markdown}, {written.Report.Html} and {written.Report.Images.Count} images{(written.BestConfig is { } best ? $"; best recipe {best}" : "")}");
            return 0;
        }
        var results = StudyResults.Load(settings.Results);
        var files = StudyReport.Write(results, settings.Out ?? Path.GetDirectoryName(results.DatabasePath)!);
        ConsoleTable.Line($"study '{results.Name}': {results.Runs.Count} runs{(results.AnyEstimated ? " (energy estimated)" : "")}");
        ConsoleTable.Line($"wrote {files.Markdown}, {files.Html} and {files.Images.Count} images");
        return 0;
    }
}
