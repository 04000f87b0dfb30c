using GreenSeg.Common;
using GreenSeg.CrossValidation;
using GreenSeg.Studies;
using GreenSeg.Training;

namespace GreenSeg.Tuning;

/// <summary>A trial taken to a rung: its folder and options, and where its training pauses.</summary>
/// <param name="DiceAllowanceKj">For dice-at-budget: only epochs whose cumulative energy stays within this many kJ count for the rung's Dice.</param>
public sealed record TrialAssignment(int Trial, string Folder, TrainingOptions Options, int Rung, TrainingPause Pause, double? DiceAllowanceKj);

/// <summary>How a trial's job ended.</summary>
public enum TrialRunEnd
{
    /// <summary>Paused at the rung: it can be promoted.</summary>
    ReachedRung,
    /// <summary>The run ended on its own (its last epoch, early stopping, an energy budget): no more epochs to give.</summary>
    Ended,
    /// <summary>Cancelled (or killed) before the rung: the job resumes next time.</summary>
    Interrupted,
    /// <summary>Training failed.</summary>
    Failed,
}

/// <summary>
/// What a job left: how it ended, the trial's energy so far, and, when it reached the rung or ended, its measures.
/// </summary>
/// <param name="TrainingKj">The trial's training energy so far, over every process (and fold), kJ.</param>
/// <param name="InferenceKj">Energy this job spent scoring held-out stacks (--cv), kJ.</param>
/// <param name="Dice">Best validation Dice so far (the cross-validated mean with --cv).</param>
/// <param name="DiceWithinAllowance">Best validation Dice of the epochs within <see cref="TrialAssignment.DiceAllowanceKj"/> (0 when none fits).</param>
/// <param name="EpochKj">Energy of the epochs alone so far (summed over folds), kJ.</param>
public sealed record TrialRunResult(TrialRunEnd End, double TrainingKj, double InferenceKj = 0, bool EnergyEstimated = false, int Epochs = 0,
    double Dice = double.NaN, double? DiceWithinAllowance = null, double EpochKj = 0, string? StopReason = null, string? Error = null);

/// <summary>Trains a trial to its next rung and measures it; the search's only contact with training (tests give it a stand-in).</summary>
public interface ITrialTrainer
{
    TrialRunResult Train(TrialAssignment assignment, ITrainingObserver observer, CancellationToken cancellationToken);
}

/// <summary>
/// A trial trained on the run's validation split: one run folder, started or resumed from its last checkpoint, paused at
/// the rung. Its Dice is the best validation Dice per stack so far (the epoch a Dice-selected run keeps).
/// </summary>
public sealed class SplitTrialTrainer : ITrialTrainer
{
    public TrialRunResult Train(TrialAssignment assignment, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        string? error = TrialRun.Advance(assignment.Folder, assignment.Options, assignment.Pause, observer, cancellationToken);
        var run = TrialRun.Measure(assignment.Folder, assignment.Pause, assignment.DiceAllowanceKj);
        if (error is not null) return run.Result with { End = TrialRunEnd.Failed, Error = error };
        return run.Result;
    }
}

/// <summary>
/// A trial scored by k-fold cross-validation by stack (<see cref="CrossValidationRunner"/>): each rung trains every fold
/// (final runs on the fold's training stacks, paused at the rung), then segments each fold's held-out stacks in 3D as
/// <c>greenseg segment</c> does; the rung's Dice is the mean over all held-out stacks. Folds are the same for every trial.
/// </summary>
public sealed class CrossValidatedTrialTrainer(int folds) : ITrialTrainer
{
    public int Folds { get; } = folds >= 2 ? folds : throw new GreenSegException($"--cv {folds}: cross-validation needs at least 2 folds");

    public TrialRunResult Train(TrialAssignment assignment, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        var options = new CrossValidationOptions
        {
            Data = assignment.Options.Data,
            Folds = new FoldSpec(FoldScheme.KFold, Folds),
            OutputFolder = assignment.Folder,
            Training = assignment.Options,
            Review = false,
            FoldSeed = assignment.Options.SplitSeed ?? assignment.Options.Seed,
        };
        var (folds, recipe) = CrossValidationRunner.Plan(options);
        var runs = new List<TrialRun>();
        string? error = null;
        foreach (var fold in folds)
        {
            string folder = CrossValidationRunner.FoldFolder(recipe, fold);
            observer.Message($"  {fold.Name}: training on {fold.Train.Count} stacks, holding out {string.Join(", ", fold.Test.Select(s => s.Id))}");
            error ??= TrialRun.Advance(folder, CrossValidationRunner.FoldRecipe(recipe, fold), assignment.Pause, observer, cancellationToken);
            runs.Add(TrialRun.Measure(folder, assignment.Pause, null));
            if (error is not null || runs[^1].Result.End == TrialRunEnd.Interrupted) break;
        }
        double trainingKj = runs.Sum(r => r.Result.TrainingKj);
        bool estimated = runs.Any(r => r.Result.EnergyEstimated);
        if (error is not null) return new TrialRunResult(TrialRunEnd.Failed, trainingKj, EnergyEstimated: estimated, Error: error);
        if (runs.Count < folds.Count || runs.Any(r => r.Result.End == TrialRunEnd.Interrupted))
            return new TrialRunResult(TrialRunEnd.Interrupted, trainingKj, EnergyEstimated: estimated);

        var scores = new List<StackScore>();
        double inferenceKj = 0;
        try
        {
            foreach (var (fold, run) in folds.Zip(runs))
            {
                var scoring = CrossValidationRunner.ScoreFold(options, recipe, fold, run.Folder, cancellationToken: cancellationToken);
                scores.AddRange(scoring.Scores);
                inferenceKj += scoring.InferenceKj;
                estimated |= scoring.EnergyEstimated;
            }
        }
        catch (OperationCanceledException)
        {
            return new TrialRunResult(TrialRunEnd.Interrupted, trainingKj, inferenceKj, estimated);
        }
        var end = runs.All(r => r.Result.End == TrialRunEnd.Ended) ? TrialRunEnd.Ended : TrialRunEnd.ReachedRung;
        return new TrialRunResult(end, trainingKj, inferenceKj, estimated, runs.Min(r => r.Result.Epochs), scores.Average(s => s.Dice),
            EpochKj: runs.Sum(r => r.Result.EpochKj), StopReason: runs.Select(r => r.Result.StopReason).FirstOrDefault(r => r is not null));
    }
}

/// <summary>One run folder of a trial (a fold's, with --cv): advanced to a pause, and measured from its checkpoint and metrics.</summary>
internal sealed record TrialRun(string Folder, TrialRunResult Result)
{
    /// <summary>
    /// Starts the run, or resumes it from its last checkpoint, until the pause (or its end); a run already at the pause or
    /// ended is left as it is (a search killed after a rung's checkpoint, before recording it). Returns the error when training failed.
    /// </summary>
    public static string? Advance(string folder, TrainingOptions options, TrainingPause pause, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        try
        {
            string? last = Directory.Exists(folder) ? new RunFolder(folder).FindCheckpoint("last") : null;
            if (last is null)
            {
                // Anything here died before its first checkpoint: nothing to keep.
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
                Trainer.Train(options, folder, observer, cancellationToken, plugins: new TrainingPlugins { Pause = pause });
            }
            else if (RunFolder.ReadState(last) is { StopReason: null } state && !pause.IsReached(state))
            {
                Trainer.Resume(folder, observer, cancellationToken, plugins: new TrainingPlugins { Pause = pause });
            }
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (Exception e)
        {
            // A trial that cannot train (diverged, out of memory, a shape its input size does not fit) fails alone; the search goes on.
            return e is GreenSegException ? e.Message : $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>Where the run stands: ended, at the pause, or short of it (interrupted); its energy over every process; its best Dice.</summary>
    public static TrialRun Measure(string folder, TrainingPause pause, double? diceAllowanceKj)
    {
        if (!Directory.Exists(folder)) return new TrialRun(folder, new TrialRunResult(TrialRunEnd.Interrupted, 0));
        var run = new RunFolder(folder);
        string? last = run.FindCheckpoint("last");
        var state = last is null ? null : RunFolder.ReadState(last);
        var totals = StudyRunner.ReadTotals(run);
        // A process that died (or failed) before its emissions row left its energy in the checkpoint.
        double kj = (totals?.EnergyKj ?? 0) + (state?.UnreportedEnergy?.TotalJoules ?? 0) / 1000;
        bool estimated = totals?.Estimated ?? true;
        if (state is null) return new TrialRun(folder, new TrialRunResult(TrialRunEnd.Interrupted, kj, EnergyEstimated: estimated));
        var rows = MetricsFile.Read(run.MetricsPath).Where(r => r.Epoch < state.EpochsDone).ToList();
        var end = state.StopReason is not null ? TrialRunEnd.Ended : pause.IsReached(state) ? TrialRunEnd.ReachedRung : TrialRunEnd.Interrupted;
        double? withinAllowance = diceAllowanceKj is double allowance
            ? Best(rows.Where(r => r.CumulativeEnergyKj <= allowance * (1 + 1e-9)).Select(r => r.ValidationDice)) is double dice && !double.IsNaN(dice) ? dice : 0
            : null;
        return new TrialRun(folder, new TrialRunResult(end, kj, 0, estimated, state.EpochsDone, Best(rows.Select(r => r.ValidationDice)), withinAllowance,
            rows.Sum(r => r.EnergyKj), state.StopReason));
    }

    private static double Best(IEnumerable<double> dice) => dice.Where(d => !double.IsNaN(d)).DefaultIfEmpty(double.NaN).Max();
}
