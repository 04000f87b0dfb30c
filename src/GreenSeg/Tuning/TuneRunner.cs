using System.Globalization;
using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Energy;
using GreenSeg.Models;
using GreenSeg.Studies;
using GreenSeg.Training;

namespace GreenSeg.Tuning;

/// <summary>What a rung ranks trials by (<c>--objective</c>); higher is better.</summary>
public enum TuneObjective
{
    /// <summary>The best validation Dice so far (the cross-validated mean with --cv).</summary>
    [EnumMember(Value = "dice")] Dice,
    /// <summary>That Dice divided by the trial's whole energy so far in kJ (setup, finders, every epoch, scoring): Dice bought per kJ.</summary>
    [EnumMember(Value = "dice-per-kj")] DicePerKj,
    /// <summary>
    /// The Dice reached within the rung's energy: rungs in kJ give every trial the same energy, and only the epochs whose
    /// cumulative epoch energy stays within it count (0 when even the first epoch costs more). Needs rungs in kJ.
    /// </summary>
    [EnumMember(Value = "dice-at-budget")] DiceAtBudget,
}

/// <summary>A search to run (or resume): the space, the data, the folder, and its limits.</summary>
public sealed record TuneRequest
{
    public required SearchSpace Space { get; init; }
    public required string Data { get; init; }
    public required string Folder { get; init; }
    public TuneObjective Objective { get; init; } = TuneObjective.Dice;
    /// <summary>Seed of the sampling (each trial's values are a function of it and the trial's number).</summary>
    public int Seed { get; init; } = 42;
    /// <summary>The search's energy allowance; a job starts only when it is expected to fit (<see cref="TuneRunner"/>).</summary>
    public EnergyBudget? Budget { get; init; }
    /// <summary>At most this many trials are drawn.</summary>
    public int? MaxTrials { get; init; }
    /// <summary>Score trials by k-fold cross-validation by stack instead of the validation split.</summary>
    public int? CrossValidationFolds { get; init; }
    /// <summary>Settings for every trial applied last (the command line's, e.g. threads).</summary>
    public IReadOnlyList<OptionSetting> Overrides { get; init; } = [];

    public TuneRequest Validate()
    {
        if (Budget is null && MaxTrials is null) throw new GreenSegException("a search needs a limit: give --budget ENERGY (e.g. 300kJ) and/or --trials N");
        if (MaxTrials is < 1) throw new GreenSegException($"--trials must be at least 1, got {MaxTrials}");
        if (CrossValidationFolds is < 2) throw new GreenSegException($"--cv must be at least 2 folds, got {CrossValidationFolds}");
        if (Objective == TuneObjective.DiceAtBudget && Space.Rungs.Unit != RungUnit.Kilojoules)
            throw new InvalidInputException(Space.Source, "--objective dice-at-budget compares trials at equal energy: give the rungs in kJ (rungs: {min-kj: ..., max-kj: ..., eta: ...})");
        if (Objective == TuneObjective.DiceAtBudget && CrossValidationFolds is not null)
            throw new GreenSegException("--objective dice-at-budget reads each epoch's validation Dice, which --cv does not have (folds are scored at the rungs only); use dice or dice-per-kj with --cv");
        return this;
    }
}

/// <summary>How a search invocation ended: finished (nothing left to do within its limits) or stopped, to be resumed.</summary>
public sealed record TuneOutcome(string Folder, bool Finished, string Reason, int JobsRun);

/// <summary>What a search tells its user: job-level events, and the training progress of the current job.</summary>
public interface ITuneObserver
{
    ITrainingObserver Training { get; }
    void JobStarting(TrialRecord trial, TuneJob job, string rung, bool resuming);
    void JobEnded(TrialRecord trial, RungResult? result);
    void TrialRejected(TrialRecord trial);
}

public sealed class SilentTuneObserver : ITuneObserver
{
    public static SilentTuneObserver Instance { get; } = new();
    public ITrainingObserver Training => SilentObserver.Instance;
    public void JobStarting(TrialRecord trial, TuneJob job, string rung, bool resuming) { }
    public void JobEnded(TrialRecord trial, RungResult? result) { }
    public void TrialRejected(TrialRecord trial) { }
}

/// <summary>
/// Runs a search: ASHA (<see cref="Asha"/>) over trials drawn from the search space, one job at a time, each job a trial
/// trained (started, or resumed from its checkpoint) up to its next rung, in TUNE/trials/trial-NNN, all of it recorded in
/// TUNE/tune.db. The energy rule: a job starts only while the energy spent so far is below the budget and the spent energy
/// plus the job's estimated cost stays within it. The estimate is the trial's own kJ per rung unit so far times the
/// units the rung adds (a promotion), or the mean cost of the trials' first rungs (a new trial; the very first job has no
/// estimate). Jobs run one at a time and only the one started last can go over, so the budget is never exceeded by more
/// than one rung of one trial. Stopped at any moment (cancellation, a killed process), a search resumes with the job it
/// was in (the trial resumes from its run folder's checkpoint); trials are numbered and drawn as a function of (seed,
/// number), so none is lost or drawn twice.
/// </summary>
public static class TuneRunner
{
    public const string TrialsFolderName = "trials";

    /// <summary>Distinct settings are looked for this many draws before a trial number gives up: a space of few choices may be exhausted.</summary>
    public const int MaxDraws = 100;

    public static string TrialFolder(string tuneFolder, int trial) => Path.Combine(Path.GetFullPath(tuneFolder), TrialsFolderName, TrialRecord.TrialName(trial));

    public static TuneOutcome Run(TuneRequest request, ITuneObserver? observer = null, CancellationToken cancellationToken = default, ITrialTrainer? trainer = null)
    {
        request.Validate();
        observer ??= SilentTuneObserver.Instance;
        trainer ??= request.CrossValidationFolds is int folds ? new CrossValidatedTrialTrainer(folds) : new SplitTrialTrainer();
        string root = Path.GetFullPath(request.Folder);
        Directory.CreateDirectory(root);
        using var store = TuneStore.Open(root);
        RecordSearch(store, request);
        int jobsRun = 0;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested) return new TuneOutcome(root, false, "cancelled", jobsRun);
            var job = store.OpenJob();
            bool resuming = job is not null;
            if (job is null)
            {
                switch (Decide(store, request))
                {
                    case Stop stop:
                        store.SetMeta("ended", stop.Reason);
                        return new TuneOutcome(root, true, stop.Reason, jobsRun);
                    case Promote promote:
                        job = store.StartPromotion(promote.Trial, promote.ToRung, store.Trial(promote.Trial).Kj);
                        break;
                    case NewTrial draw:
                        if (draw.Problem is not null)
                        {
                            store.AddRejectedTrial(draw.Id, draw.Settings, draw.Problem);
                            observer.TrialRejected(store.Trial(draw.Id));
                            continue;
                        }
                        job = store.StartNewTrial(draw.Id, draw.Settings, draw.Options!.ToYaml(), TrialFolder(root, draw.Id));
                        break;
                }
            }
            var trial = store.Trial(job!.Trial);
            var assignment = Assignment(request, trial, job.Rung);
            observer.JobStarting(trial, job, request.Space.Rungs.Format(request.Space.Rungs.Resources[job.Rung]), resuming);
            var result = trainer.Train(assignment, observer.Training, cancellationToken);
            jobsRun++;
            var recorded = Record(store, request, job, trial, result);
            if (result.End == TrialRunEnd.Interrupted) return new TuneOutcome(root, false, "cancelled", jobsRun);
            observer.JobEnded(store.Trial(trial.Id), recorded);
        }
    }

    private abstract record Decision;
    private sealed record Stop(string Reason) : Decision;
    private sealed record Promote(int Trial, int ToRung) : Decision;
    private sealed record NewTrial(int Id, IReadOnlyList<OptionSetting> Settings, TrainingOptions? Options, string? Problem) : Decision;

    /// <summary>The next job by the ASHA rule, the trial limit and the energy rule; or why the search ends.</summary>
    private static Decision Decide(TuneStore store, TuneRequest request)
    {
        var trials = store.Trials();
        var results = store.RungResults();
        var rungs = request.Space.Rungs;
        var promotion = Asha.NextPromotion(AshaTrials(trials, results), rungs.Count, rungs.Eta);
        double spent = trials.Sum(t => t.Kj);
        double estimate;
        Decision next;
        if (promotion is not null)
        {
            next = new Promote(promotion.Trial, promotion.ToRung);
            estimate = PromotionEstimate(results.Single(r => r.Trial == promotion.Trial && r.Rung == promotion.FromRung), rungs, promotion.ToRung,
                request.CrossValidationFolds ?? 1);
        }
        else
        {
            if (request.MaxTrials is int max && trials.Count >= max)
                return new Stop($"all {max} trials drawn and none left to promote");
            next = Draw(request, trials);
            // A stop, or a draw that makes no recipe (recorded as rejected; it costs nothing).
            if (next is Stop or NewTrial { Problem: not null }) return next;
            estimate = NewTrialEstimate(results);
        }
        if (request.Budget is { } budget)
        {
            double budgetKj = budget.Joules / 1000;
            if (spent >= budgetKj)
                return new Stop(Invariant($"energy budget {budget} spent ({spent:0.00} kJ)"));
            if (spent + estimate > budgetKj)
                return new Stop(Invariant($"energy budget {budget}: the next job ({Describe(next, rungs)}, about {estimate:0.00} kJ) would not fit in what is left ({budgetKj - spent:0.00} kJ of {budgetKj:0.00})"));
        }
        return next;
    }

    private static string Describe(Decision decision, RungLadder rungs) => decision switch
    {
        Promote p => $"{TrialRecord.TrialName(p.Trial)} to {rungs.Format(rungs.Resources[p.ToRung])}",
        NewTrial n => $"a new {TrialRecord.TrialName(n.Id)} to {rungs.Format(rungs.Resources[0])}",
        _ => "",
    };

    /// <summary>A new trial's settings: the first draw of its number that no earlier trial has (rejected trials included).</summary>
    private static Decision Draw(TuneRequest request, IReadOnlyList<TrialRecord> trials)
    {
        int id = trials.Count + 1;
        var tried = trials.Select(t => t.Changes).ToHashSet(StringComparer.Ordinal);
        for (int draw = 0; draw < MaxDraws; draw++)
        {
            var settings = request.Space.Sample(request.Seed, id, draw);
            if (tried.Contains(string.Join(", ", settings))) continue;
            try
            {
                var options = request.Space.Recipe(Path.GetFullPath(request.Data), settings, request.Overrides).Validate();
                ModelRegistry.Describe(options.Model);
                PrecisionOption.Resolve(options.Compute.Precision, TorchRuntime.ResolveDevice(options.Compute.Device));
                return new NewTrial(id, settings, options, null);
            }
            catch (GreenSegException e)
            {
                return new NewTrial(id, settings, null, e.Message);
            }
        }
        return new Stop($"the search space has no untried combination left ({MaxDraws} draws for {TrialRecord.TrialName(id)} were all tried before)");
    }

    /// <summary>The trial's own kJ per rung unit so far, times the units the next rung adds.</summary>
    /// <param name="folds">Runs per trial (K with --cv): a kJ rung is each fold's allowance, the trial's epoch energy their sum.</param>
    public static double PromotionEstimate(RungResult reached, RungLadder rungs, int toRung, int folds = 1)
    {
        double consumed = rungs.Unit == RungUnit.Epochs ? reached.Epochs : reached.EpochKj / folds;
        double rate = consumed > 0 ? reached.TrialKj / consumed : 0;
        return rate * Math.Max(0, rungs.Resources[toRung] - consumed);
    }

    /// <summary>The mean cost of the first rung of the trials that reached it (0 before the first: the first job starts unestimated).</summary>
    public static double NewTrialEstimate(IReadOnlyList<RungResult> results)
    {
        var first = results.Where(r => r.Rung == 0).ToList();
        return first.Count == 0 ? 0 : first.Average(r => r.TrialKj);
    }

    /// <summary>The trials as the promotion rule sees them: their scores by rung, and whether a promotion can resume them.</summary>
    public static IReadOnlyList<AshaTrial> AshaTrials(IReadOnlyList<TrialRecord> trials, IReadOnlyList<RungResult> results)
    {
        var byTrial = results.ToLookup(r => r.Trial);
        return [.. trials.Where(t => t.Status != TrialStatus.Rejected)
            .Select(t => new AshaTrial(t.Id, [.. byTrial[t.Id].OrderBy(r => r.Rung).Select(r => r.Score)], t.Status == TrialStatus.Paused))];
    }

    private static TrialAssignment Assignment(TuneRequest request, TrialRecord trial, int rung)
    {
        var rungs = request.Space.Rungs;
        var options = TrainingOptions.ParseWritten(trial.OptionsYaml, $"{trial.Name}'s options");
        double? allowance = request.Objective == TuneObjective.DiceAtBudget ? rungs.Resources[rung] : null;
        return new TrialAssignment(trial.Id, trial.RunFolder, options, rung, rungs.PauseAt(rung), allowance);
    }

    /// <summary>Stores what a job left; an interrupted job only updates the trial's energy and stays open.</summary>
    private static RungResult? Record(TuneStore store, TuneRequest request, TuneJob job, TrialRecord trial, TrialRunResult result)
    {
        var rungs = request.Space.Rungs;
        // Scoring energy of earlier rungs stays; this job's is added (training energy is re-read whole from the run folders).
        double inferenceKj = trial.InferenceKj + result.InferenceKj;
        double kj = result.TrainingKj + inferenceKj;
        bool estimated = trial.EnergyEstimated || result.EnergyEstimated;
        switch (result.End)
        {
            case TrialRunEnd.Interrupted:
                store.UpdateEnergy(trial.Id, result.TrainingKj, inferenceKj, estimated);
                return null;
            case TrialRunEnd.Failed:
                store.FinishJob(job, TrialStatus.Failed, result.TrainingKj, inferenceKj, estimated, null, result.Error, "failed");
                return null;
        }
        double score = request.Objective switch
        {
            TuneObjective.DicePerKj => kj > 0 ? result.Dice / kj : double.NaN,
            TuneObjective.DiceAtBudget => result.DiceWithinAllowance ?? 0,
            _ => result.Dice,
        };
        var rungResult = new RungResult(trial.Id, job.Rung, rungs.Resources[job.Rung], result.Epochs, result.Dice, score, kj, result.EpochKj, result.StopReason);
        var status = job.Rung == rungs.TopRung ? TrialStatus.Completed : result.End == TrialRunEnd.Ended ? TrialStatus.Stopped : TrialStatus.Paused;
        store.FinishJob(job, status, result.TrainingKj, inferenceKj, estimated, rungResult, null, status == TrialStatus.Stopped ? $"stopped: {result.StopReason}" : ChoiceNames.Name(status));
        return rungResult;
    }

    /// <summary>A folder holds one search: the same file, data, seed, objective and folds (the limits may change between invocations).</summary>
    private static void RecordSearch(TuneStore store, TuneRequest request)
    {
        string data = Path.GetFullPath(request.Data);
        var plan = new (string Key, string Value)[]
        {
            ("space", request.Space.Text),
            ("data", data),
            ("seed", request.Seed.ToString(CultureInfo.InvariantCulture)),
            ("objective", ChoiceNames.Name(request.Objective)),
            ("cv", request.CrossValidationFolds?.ToString(CultureInfo.InvariantCulture) ?? "none"),
            ("overrides", string.Join(", ", request.Overrides)),
        };
        foreach (var (key, value) in plan)
            if (store.GetMeta(key) is { } stored && stored != value)
                throw new GreenSegException($"{store.Path}: holds a search with another {(key == "space" ? "search file" : key)} " +
                    $"({(key == "space" ? "its text differs" : $"'{stored}', not '{value}'")}); resume it with the same one, or use another --out");
        foreach (var (key, value) in plan) store.SetMeta(key, value);
        store.SetMeta("name", request.Space.Name);
        store.SetMeta("source", request.Space.Source);
        store.SetMeta("rungs", request.Space.Rungs.ToString());
        store.SetMeta("rung_unit", ChoiceNames.Name(request.Space.Rungs.Unit));
        store.SetMeta("rung_resources", string.Join(",", request.Space.Rungs.Resources.Select(r => r.ToString("R", CultureInfo.InvariantCulture))));
        store.SetMeta("eta", request.Space.Rungs.Eta.ToString(CultureInfo.InvariantCulture));
        store.SetMeta("budget", request.Budget?.ToString() ?? "none");
        store.SetMeta("max_trials", request.MaxTrials?.ToString(CultureInfo.InvariantCulture) ?? "none");
        if (store.GetMeta("created_utc") is null) store.SetMeta("created_utc", DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture));
        if (store.GetMeta("machine") is null)
            foreach (var (key, value) in StudyRunner.DescribeEnergy(request.Space.Recipe(data, [], request.Overrides))) store.SetMeta(key, value);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
