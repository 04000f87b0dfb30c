using System.ComponentModel;
using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Studies;
using GreenSeg.Studies.Reporting;
using GreenSeg.Training;
using GreenSeg.Tuning;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class TuneSettings : EnergySettings
{
    [CommandArgument(0, "<SPACE>")]
    [Description("The search file (YAML): base: (options every trial shares), search: (options and their distributions), rungs: (min/max epochs or kJ, eta).")]
    public string Space { get; init; } = "";

    [CommandOption("--data <PATH>")]
    [Description("The labelled stacks every trial trains on (E2MIP folder, paired folder or .csv), or 'phantom' to write the synthetic dataset into the tune folder.")]
    public string? Data { get; init; }

    [CommandOption("--budget <ENERGY>")]
    [Description("The search's energy allowance, e.g. 300kJ or 0.1kWh: a job starts only when it is expected to fit, so the search ends at most one rung over it.")]
    public string? Budget { get; init; }

    [CommandOption("--trials <N>")]
    [Description("Draw at most N trials (the search ends when none is left to promote).")]
    public int? Trials { get; init; }

    [CommandOption("--objective <OBJECTIVE>")]
    [Description("What rungs rank trials by: dice (default) | dice-per-kj | dice-at-budget (Dice within the rung's energy; rungs in kJ).")]
    [TypeConverter(typeof(ChoiceConverter<TuneObjective>))]
    public TuneObjective? Objective { get; init; }

    [CommandOption("--cv <K>")]
    [Description("Score trials by K-fold cross-validation by stack (each rung trains K folds) instead of the validation split.")]
    public int? CrossValidationFolds { get; init; }

    [CommandOption("-o|--out <DIR>")]
    [Description("Tune folder: tune.db, trials/<trial>/, report and best.yaml (default: tuning/<search name>). Rerun with the same folder to resume.")]
    public string? Out { get; init; }

    [CommandOption("--seed <N>")]
    [Description("Seed of the sampling (default 42): the same seed draws the same trials in the same order.")]
    public int Seed { get; init; } = 42;

    [CommandOption("--threads <N>")]
    [Description("libtorch threads for every trial.")]
    public int? Threads { get; init; }

    [CommandOption("--set <KEY=VALUE>")]
    [Description("Any training option for every trial, e.g. --set device=cuda (repeatable; wins over the search file).")]
    public string[] Set { get; init; } = [];

    [CommandOption("--dry-run")]
    [Description("Print the rungs and the first trials' settings, train nothing.")]
    public bool DryRun { get; init; }

    /// <summary>Every given flag as a training option for all trials.</summary>
    public IReadOnlyList<OptionSetting> Overrides()
    {
        var flags = new FlagSettings().Add("threads", Threads).Add("cpu-tdp", CpuTdp).Add("country", Country).Add("carbon-intensity", CarbonIntensity);
        // --pue has a default of its own: only a value other than it overrides the search file's.
        if (Pue != DefaultPue) flags.Add("pue", Pue);
        var set = Set.Select(StudyOverrides.ParseSetting).ToList();
        foreach (var setting in set)
            if (TrainingOptionKeys.Resolve(setting.Key) is { } path && (SearchSpaceParser.UnsearchableKeys.Contains(path) || SearchSpaceParser.UnsearchableKeys.Contains(setting.Key)))
                throw new GreenSegException($"--set {setting.Key}: every trial shares the data, its split and its length (give --data; the rungs set the epochs)");
        return [.. flags.Settings, .. set];
    }
}

/// <summary>greenseg tune: asynchronous successive halving over recipes and fire-module shapes, resumable, energy on the bill; then the report.</summary>
public sealed class TuneCommand : Command<TuneSettings>
{
    public override int Execute(CommandContext context, TuneSettings settings, CancellationToken cancellationToken)
    {
        var space = SearchSpaceParser.Load(settings.Space);
        string folder = Path.GetFullPath(settings.Out ?? Path.Combine("tuning", space.Name));
        string data = settings.Data ?? throw new GreenSegException("no data: give --data PATH (or --data phantom)");
        data = settings.DryRun ? StudyData.PathOf(data, folder) : StudyData.Resolve(data, folder);
        var request = new TuneRequest
        {
            Space = space,
            Data = data,
            Folder = folder,
            Objective = settings.Objective ?? TuneObjective.Dice,
            Seed = settings.Seed,
            Budget = settings.Budget is null ? null : Energy.EnergyBudget.Parse(settings.Budget),
            MaxTrials = settings.Trials,
            CrossValidationFolds = settings.CrossValidationFolds,
            Overrides = settings.Overrides(),
        }.Validate();

        ConsoleTable.Line($"search '{space.Name}' ({space.Source}): {space.Parameters.Count} options searched, {space.Rungs}; objective {ChoiceNames.Name(request.Objective)}" +
            $"{(request.CrossValidationFolds is int k ? $", {k}-fold cross-validation" : "")}; limits: budget {request.Budget?.ToString() ?? "none"}, trials {request.MaxTrials?.ToString(CultureInfo.InvariantCulture) ?? "none"}; data {data}; folder {folder}");
        if (settings.DryRun)
        {
            ConsoleTable.Write(["trial", "settings"], Enumerable.Range(1, Math.Min(request.MaxTrials ?? 10, 10))
                .Select(id => new[] { TrialRecord.TrialName(id), string.Join(", ", space.Sample(request.Seed, id, 0)) }));
            return 0;
        }

        var outcome = ProgressObserver.Run(training => TuneRunner.Run(request, new ConsoleTuneObserver(training), cancellationToken));
        var results = TuneResults.Load(folder);
        Print(results);
        if (!outcome.Finished)
        {
            ConsoleTable.Line("stopped before the end; run the same command again to continue (the trial in training resumes from its checkpoint)");
            return 130;
        }
        ConsoleTable.Line($"ended: {outcome.Reason}");
        var files = TuneReport.Write(results);
        ConsoleTable.Line($"report: {files.Report.Markdown} and {files.Report.Html}{(files.BestConfig is { } best ? $"; best recipe: {best}" : "")}");
        return 0;
    }

    internal static void Print(TuneResults results)
    {
        ConsoleTable.Write(["trial", "settings", "status", "rungs", "epochs", "val Dice", "score", "kJ"],
            results.Trials.Select(t => new[]
            {
                t.Trial.Name + (t == results.Best ? " *" : ""), t.Trial.Changes, ChoiceNames.Name(t.Trial.Status) + (t.Trial.Error is { } e ? $": {e}" : ""),
                $"{t.Rungs.Count}/{results.RungResources.Count}", t.Epochs.ToString(CultureInfo.InvariantCulture),
                ReportFormat.Number(t.Last?.Dice, 4), ReportFormat.Number(t.Last?.Score, 4), ReportFormat.Number(t.Trial.Kj, 2),
            }), 3, 4, 5, 6, 7);
        ConsoleTable.Write(["rung", "trained to", "trials", "promoted", "ended or failed", "best score"],
            results.Ladder.Select(step => new[]
            {
                (step.Rung + 1).ToString(CultureInfo.InvariantCulture), results.FormatResource(step.Resource), step.Reached.ToString(CultureInfo.InvariantCulture),
                step.Rung == results.RungResources.Count - 1 ? "-" : step.Promoted.ToString(CultureInfo.InvariantCulture),
                step.Ended.ToString(CultureInfo.InvariantCulture), ReportFormat.Number(step.BestScore, 4),
            }), 0, 2, 3, 4, 5);
        var saving = results.Saving;
        ConsoleTable.Line(FormattableString.Invariant(
            $"search energy {results.TotalKj:0.00} kJ{(results.AnyEstimated ? " (estimated)" : "")}; every trial to the top rung would have cost about {saving.FullTrainingKj:0.00} kJ: successive halving saved about {saving.SavedKj:0.00} kJ ({ReportFormat.Percent(saving.SavedShare)}, an estimate)"));
        if (results.Best is { Last: { } last } best)
            ConsoleTable.Line(FormattableString.Invariant($"best: {best.Trial.Name} ({best.Trial.Changes}): {ChoiceNames.Name(results.Objective)} {last.Score:0.0000}, val Dice {last.Dice:0.0000} at {results.FormatResource(last.Resource)}, {best.Trial.Kj:0.00} kJ"));
    }

    /// <summary>Job-level lines around the training progress of each job.</summary>
    private sealed class ConsoleTuneObserver(ITrainingObserver training) : ITuneObserver
    {
        public ITrainingObserver Training => training;

        public void JobStarting(TrialRecord trial, TuneJob job, string rung, bool resuming) =>
            training.Message($"[job {job.Sequence}] {(resuming ? "resuming" : job.Kind == JobKind.NewTrial ? "new" : "promoting")} {trial.Name} to {rung}" +
                (job.Kind == JobKind.NewTrial ? $" ({trial.Changes})" : ""));

        public void JobEnded(TrialRecord trial, RungResult? result) =>
            training.Message($"  {trial.Name}: {ChoiceNames.Name(trial.Status)}" + (trial.Error is { } error ? $": {error}"
                : result is not null ? FormattableString.Invariant($", val Dice {result.Dice:0.0000}, score {result.Score:0.0000}, {trial.Kj:0.00} kJ so far") : ""));

        public void TrialRejected(TrialRecord trial) =>
            training.Message($"  {trial.Name} ({trial.Changes}) rejected: {trial.Error}");
    }
}
