using System.ComponentModel;
using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Studies.Reporting;
using GreenSeg.Training;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class StudySettings : EnergySettings
{
    [CommandArgument(0, "<STUDY>")]
    [Description("A study .yaml file, or a preset: techniques, architectures, compression, quick.")]
    public string Study { get; init; } = "";

    [CommandOption("--data <PATH>")]
    [Description("Dataset for every run (E2MIP folder, paired folder or .csv), or 'phantom' to write the synthetic dataset into the study folder.")]
    public string? Data { get; init; }

    [CommandOption("-o|--out <DIR>")]
    [Description("Study folder: study.db, runs/<name>/, the report (default: studies/<study name>). Rerun with the same folder to resume.")]
    public string? Out { get; init; }

    [CommandOption("-e|--epochs <N>")]
    [Description("Epoch budget of every run (overrides the study's).")]
    public int? Epochs { get; init; }

    [CommandOption("--size <PIXELS>")]
    [Description("Network input side for every run (overrides the study's).")]
    public int? Size { get; init; }

    [CommandOption("--spacing <MM>")]
    [Description("In-plane spacing slices are resampled to, for every run (overrides the study's).")]
    public double? Spacing { get; init; }

    [CommandOption("--threads <N>")]
    [Description("libtorch threads for every run.")]
    public int? Threads { get; init; }

    [CommandOption("--set <KEY=VALUE>")]
    [Description("Any training option for every run, e.g. --set model-width=32 (repeatable; wins over the study file).")]
    public string[] Set { get; init; } = [];

    [CommandOption("--retry-failed")]
    [Description("Run again the runs that failed before (default: keep them as failed).")]
    public bool RetryFailed { get; init; }

    [CommandOption("--dry-run")]
    [Description("Print the runs and their options, train nothing.")]
    public bool DryRun { get; init; }

    /// <summary>Every given flag as a training option for all runs.</summary>
    public StudyOverrides Overrides()
    {
        var flags = new FlagSettings()
            .Add("epochs", Epochs).Add("size", Size).Add("spacing", Spacing).Add("threads", Threads)
            .Add("cpu-tdp", CpuTdp).Add("country", Country).Add("carbon-intensity", CarbonIntensity);
        // --pue has a default of its own: only a value other than it overrides the study's.
        if (Pue != DefaultPue) flags.Add("pue", Pue);
        return new StudyOverrides([.. flags.Settings, .. Set.Select(StudyOverrides.ParseSetting)]);
    }
}

/// <summary>greenseg study: runs a study (a preset or a YAML file) run after run, resumable, then writes its report.</summary>
public sealed class StudyCommand : Command<StudySettings>
{
    public override int Execute(CommandContext context, StudySettings settings, CancellationToken cancellationToken)
    {
        var definition = StudyPresets.Resolve(settings.Study);
        string folder = Path.GetFullPath(settings.Out ?? Path.Combine("studies", definition.Name));
        string? data = settings.Data ?? definition.Data;
        if (data is not null) data = settings.DryRun ? StudyData.PathOf(data, folder) : StudyData.Resolve(data, folder);
        var plan = StudyPlanner.Expand(definition, data, settings.Overrides());

        ConsoleTable.Line($"study '{definition.Name}' ({definition.Source}): {plan.Runs.Count} runs on {plan.Data}; folder {folder}");
        if (settings.DryRun)
        {
            PrintPlan(plan);
            return 0;
        }

        var outcome = ProgressObserver.Run(training => StudyRunner.Run(plan, folder, new ConsoleStudyObserver(training), settings.RetryFailed, cancellationToken));
        var results = StudyResults.Load(folder);
        PrintResults(results, outcome);
        if (!outcome.Complete(plan))
        {
            ConsoleTable.Line($"stopped before the end; run the same command again to continue (finished runs are skipped, an interrupted run resumes)");
            return 130;
        }
        var written = StudyReport.Write(results, folder);
        ConsoleTable.Line($"report: {written.Markdown} and {written.Html}");
        return 0;
    }

    private static void PrintPlan(StudyPlan plan)
    {
        var options = plan.Runs.Select(r => r.Options).ToList();
        ConsoleTable.Write(["run", "changes", "model", "width", "precision", "layout", "cache", "prefetch", "optimizer", "lr", "epochs", "size"],
            plan.Runs.Select(r => new[]
            {
                r.Name + (r.Name == plan.BaselineRun ? " (baseline)" : ""), r.ChangesText, r.Options.Model, r.Options.ModelWidth?.ToString(CultureInfo.InvariantCulture) ?? "default",
                ChoiceNames.Name(r.Options.Compute.Precision), r.Options.Compute.ChannelsLast ? "channels-last" : "NCHW", ChoiceNames.Name(r.Options.Loading.Cache),
                r.Options.Loading.Prefetch.ToString(CultureInfo.InvariantCulture), ChoiceNames.Name(r.Options.Optimisation.Optimizer), r.Options.Optimisation.LearningRate,
                // A derived run trains only its fine-tuning (on its root's recipe); an inference variant trains nothing.
                r.IsDerived ? (r.Compress is { FinetuneEpochs: > 0 } c ? $"{c.FinetuneEpochs} fine-tuning" : "-")
                    : r.Options.Schedule.Epochs.ToString(CultureInfo.InvariantCulture) + (r.Options.Stopping.EnergyBudget is { } b ? $" / {b}" : ""),
                r.Options.Preprocessing.Size.ToString(CultureInfo.InvariantCulture),
            }), 7, 10, 11);
    }

    private static void PrintResults(StudyResults results, StudyOutcome outcome)
    {
        string[] headers = ["run", "this time", "status", "epochs", "val Dice", "s/epoch", "kJ/epoch", "kJ total"];
        int[] right = [3, 5, 6, 7];
        if (results.MeasuresDeployment)
        {
            headers = [.. headers, "kJ cumulative", "MB", "sparsity", "deployed Dice", $"s/{results.TimingStack}", $"J/{results.TimingStack}"];
            right = [.. right, 8, 9, 10, 11, 12, 13];
        }
        ConsoleTable.Write(headers,
            results.Runs.Select(r => new[]
            {
                r.Name, outcome.Runs.FirstOrDefault(o => o.Name == r.Name)?.Action.ToString().ToLowerInvariant() ?? "-", r.Status.ToString().ToLowerInvariant(),
                r.Epochs.Count.ToString(CultureInfo.InvariantCulture), ReportFormat.Dice(r.DiceMean, r.DiceSd), ReportFormat.Number(r.SecondsPerEpoch, 1),
                ReportFormat.Number(r.KilojoulesPerEpoch, 3), ReportFormat.Number(r.TotalKilojoules, 2),
            }.Concat(results.MeasuresDeployment
                ? [ReportFormat.Number(r.CumulativeKilojoules, 2), ReportFormat.Number(r.Deployment?.FileMegabytes, 2), ReportFormat.Percent(r.Deployment?.Sparsity),
                    ReportFormat.Dice(r.Deployment?.DiceMean, r.Deployment?.DiceSd), ReportFormat.Number(r.Deployment?.SecondsPerStack, 3), ReportFormat.Number(r.Deployment?.JoulesPerStack, 1)]
                : []).ToArray()), right);
        if (results.AnyEstimated) ConsoleTable.Line("energy is estimated (no hardware counter readable here): see greenseg energy probe");
    }

    /// <summary>Run-level lines around the training progress of each run.</summary>
    private sealed class ConsoleStudyObserver(ITrainingObserver training) : IStudyObserver
    {
        public ITrainingObserver Training => training;

        public void RunStarting(PlannedRun run, int index, int count, bool resuming) =>
            training.Message($"[{index + 1}/{count}] {(resuming ? "resuming" : "starting")} {run.Name}{(run.Changes.Count > 0 ? $" ({run.ChangesText})" : "")}");

        public void RunSkipped(StoredRun run, int index, int count) =>
            training.Message($"[{index + 1}/{count}] {run.Name}: already {run.Status.ToString().ToLowerInvariant()}, skipped");

        public void RunEnded(StoredRun run, int index, int count) =>
            training.Message($"[{index + 1}/{count}] {run.Name}: {run.Status.ToString().ToLowerInvariant()}" +
                (run.Error is { } error ? $": {error}" : run.BestDice is double dice ? FormattableString.Invariant($", best val Dice {dice:0.0000}, {run.TotalEnergyKj ?? 0:0.00} kJ") : ""));
    }
}
