using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Training.Schedules;
using TorchSharp;

namespace GreenSeg.Training;

/// <summary>What starts or continues a run: its options and folder, the checkpoint to resume from, who listens, and the hooks that plug in.</summary>
public sealed record TrainingRequest(TrainingOptions Options, RunFolder Run, string? ResumeFrom = null)
{
    public ITrainingObserver Observer { get; init; } = SilentObserver.Instance;
    public IReadOnlyList<ITrainingHook> Hooks { get; init; } = [];
    /// <summary>The model's internal widths (<see cref="Models.ModelOptions.InternalWidths"/>): a structurally pruned model fine-tuned; null: the architecture's own.</summary>
    public IReadOnlyList<int>? InternalWidths { get; init; }
    /// <summary>The ranks of a data-parallel run (null: this process alone); rank 0 alone writes the run folder.</summary>
    public IProcessGroup? Group { get; init; }
    /// <summary>Where this process stops for now, leaving the run resumable (<see cref="TrainingPause"/>); null trains to the end.</summary>
    public TrainingPause? Pause { get; init; }
}

/// <summary>
/// One training run: it owns the data, model, compute mode, loss, optimizer, schedule, energy session, stop rules and
/// recorder, and trains in named stages, as nnU-Net's run_training:
/// <code>
///   OnTrainStart → for each epoch: TrainEpoch → Validate → OnEpochEnd (record, checkpoint, stop rules) → OnTrainEnd
/// </code>
/// Techniques plug in through <see cref="ITrainingHook"/> (loss, gradients, optimizer step, epoch end) and
/// <see cref="IStopRule"/>. All randomness derives from (seed, epoch, position), so a resumed run ends where an
/// uninterrupted one does.
/// </summary>
public sealed partial class TrainingRun : IDisposable
{
    /// <summary>Consecutive steps with a non-finite loss or gradient after which a run counts as diverged.</summary>
    public const int MaxSkippedStepsInARow = 25;

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TrainingRequest _request;
    private readonly ResumeState? _resume;
    private readonly EnergySession _energy;
    private readonly SampleCache _cache;
    private readonly IReadOnlyList<TrainingStack> _trainStacks;
    private readonly int _trainSlices;
    private readonly Validation _validation;
    private readonly IReadOnlyList<IStopRule> _stopRules;
    private readonly EarlyStopping _selection;
    private readonly List<double> _diceHistory, _energyHistoryKj;
    private readonly double _secondsBefore;
    private LrPolicy _policy = null!;
    /// <summary>The teacher's hook when this run distils (<see cref="DistillationSection"/>); the run owns it.</summary>
    private DistillationHook? _distillation;
    /// <summary>The moving average of the weights when the run keeps one (<see cref="OptimisationSection.EmaDecay"/>): it is the model validated and saved as best; the run owns it.</summary>
    private WeightAverage? _average;
    private double _joulesSoFar;
    private int _bestEpoch;

    public TrainingOptions Options => _request.Options;
    public TrainingParts Parts { get; }
    public BatchLoader Loader { get; }
    public RunRecorder Recorder { get; }
    public double LearningRate { get; }
    public int BatchSize { get; }
    /// <summary>The first epoch this process trains (after a resume, the one after the checkpoint's).</summary>
    public int FirstEpoch => _resume?.EpochsDone ?? 0;

    /// <summary>Prepares a run (its data, model and optimizer, restored from the checkpoint when resuming); <see cref="Execute"/> trains it.</summary>
    public static TrainingRun Open(TrainingRequest request)
    {
        var resume = request.ResumeFrom is null ? null : RunFolder.ReadState(request.ResumeFrom);
        if (resume?.StopReason is { } finished)
            throw new GreenSegException($"{request.Run.Path}: this run already finished ({finished}); start a new one");
        return new TrainingRun(request, resume);
    }

    /// <summary>Trains until a stop rule ends the run or it is cancelled; writes the summary and returns it.</summary>
    public TrainingResult Execute(CancellationToken cancellationToken = default)
    {
        foreach (var hook in _request.Hooks) hook.OnTrainStart(this);
        string stopReason = $"completed {Options.Schedule.Epochs} epochs";
        int epoch = FirstEpoch;
        for (; epoch < Options.Schedule.Epochs; epoch++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                stopReason = "cancelled";
                break;
            }
            if (_request.Pause is { } pause && pause.IsReached(epoch, _joulesSoFar))
            {
                stopReason = FormattableString.Invariant($"paused after {epoch} epoch{(epoch == 1 ? "" : "s")} ({_joulesSoFar / 1000:0.00} kJ; pause at {pause})");
                break;
            }
            if (RunEpoch(epoch, cancellationToken) is { } reason)
            {
                stopReason = reason;
                epoch++;
                break;
            }
        }
        return OnTrainEnd(epoch, stopReason);
    }

    /// <summary>One epoch's stages; returns the reason to stop after it, or null.</summary>
    private string? RunEpoch(int epoch, CancellationToken cancellationToken)
    {
        string window = $"epoch {epoch}";
        _energy.Monitor.BeginWindow(window);
        var epochClock = Stopwatch.StartNew();
        // Dropout and other torch randomness: a function of the epoch, so a resumed run replays it.
        torch.manual_seed(Options.Seed * 1_000_003L + epoch);
        Recorder.Observer.EpochStarted(epoch, Options.Schedule.Epochs, Loader.BatchesPerEpoch);
        var (trainLoss, skippedSteps) = TrainEpoch(epoch, cancellationToken);
        double trainSeconds = epochClock.Elapsed.TotalSeconds;
        foreach (var hook in _request.Hooks)
        {
            hook.BeforeValidation(Parts.Model);
            // The weight average is what validation scores and the checkpoint keeps: data-parallel ranks must agree on it too.
            if (_average is not null) hook.BeforeValidation(_average.Model);
        }
        var score = _validation.Score(Parts with { Model = ResultModel }, _request.Group);
        // Without a held-out set the plateau policy listens to the training loss.
        _policy.AfterEpoch(_validation.Stacks.Count == 0 ? trainLoss : score.Loss);
        var measurement = _request.Group.SumEnergy(_energy.Monitor.EndWindow(window));
        var timing = new EpochTiming(epochClock.Elapsed.TotalSeconds, trainSeconds, Loader.LastEpochDataWait.TotalSeconds);
        return OnEpochEnd(epoch, trainLoss, skippedSteps, score, measurement, timing);
    }

    /// <summary>Trains one epoch; returns the mean training loss over the steps taken and how many steps were skipped.</summary>
    private (double Loss, int SkippedSteps) TrainEpoch(int epoch, CancellationToken cancellationToken)
    {
        Parts.Model.train();
        double sum = 0;
        int seen = 0, step = 0, skippedInARow = 0, skipped = 0;
        var clock = Stopwatch.StartNew();
        foreach (var batch in Loader.Epoch(epoch, cancellationToken))
        {
            double value = TrainingStep.Run(Parts, batch);
            step++;
            if (!double.IsFinite(value))
            {
                // A lone non-finite step is skipped; a run of them is divergence.
                skipped++;
                if (++skippedInARow >= MaxSkippedStepsInARow)
                    throw new GreenSegException($"training diverged at epoch {epoch}, step {step - 1}: {skippedInARow} steps in a row had a non-finite loss or gradient; lower the learning rate or use --lr auto");
                continue;
            }
            skippedInARow = 0;
            _policy.AfterOptimizerStep();
            sum += value * batch.Count;
            seen += batch.Count;
            Recorder.Observer.StepDone(epoch, step, Loader.BatchesPerEpoch, value, seen / clock.Elapsed.TotalSeconds);
        }
        if (_request.Group is { } group)
        {
            // The epoch's loss over every rank's slices.
            double[] totals = [sum, seen];
            group.AllreduceSum(totals);
            (sum, seen) = (totals[0], (int)totals[1]);
        }
        return (sum / seen, skipped);
    }

    /// <summary>Selects the best model, records the epoch, asks the stop rules and writes the last checkpoint; returns the reason to stop, or null.</summary>
    private string? OnEpochEnd(int epoch, double trainLoss, int skippedSteps, ValidationScore score, EnergyMeasurement measurement, EpochTiming timing)
    {
        // A final run keeps the last epoch (its schedule was fixed beforehand): every epoch is the best so far.
        bool isBest = Options.Final || _selection.Update(Options.Stopping.SelectsByDice ? score.DiceMean : score.Loss);
        if (isBest)
        {
            _bestEpoch = epoch;
            Recorder.SaveBest(ResultModel, epoch, score.DiceMean);
        }
        _joulesSoFar += measurement.TotalJoules;
        _diceHistory.Add(score.DiceMean);
        _energyHistoryKj.Add(_joulesSoFar / 1000);
        string? reason = StopRules.Decide(_stopRules, new EpochOutcome(epoch, score.Loss, score.DiceMean, _joulesSoFar));
        var row = MetricsRow(epoch, trainLoss, score, measurement, timing, isBest);
        Recorder.Record(row);
        Recorder.Say(EpochLine(row, score, measurement, skippedSteps));
        Recorder.Observer.EpochDone(row, Options.Schedule.Epochs);
        foreach (var hook in _request.Hooks) hook.OnEpochEnd(this, row);
        Recorder.SaveLast(Parts.Model, Parts.Optimizer, epoch, score.DiceMean, ResumeStateAfter(epoch, reason), _average?.Model);
        return reason;
    }

    /// <summary>Closes the energy session (its emissions row), writes summary.json and says how the run ended.</summary>
    private TrainingResult OnTrainEnd(int epochsRun, string stopReason)
    {
        var total = _request.Group.SumEnergy(_energy.Monitor.EndWindow("run"));
        if (Recorder.Writes) _energy.AppendEmissions(Recorder.Run.EmissionsPath, total);
        Recorder.MarkEnergyReported();
        var rows = Recorder.Rows;
        double bestDice = _selection.Best is double best && Options.Stopping.SelectsByDice ? best : rows.FirstOrDefault(r => r.Epoch == _bestEpoch)?.ValidationDice ?? 0;
        var result = new TrainingResult(Recorder.Run.Path, epochsRun, _bestEpoch, bestDice, _joulesSoFar / 1000, total.AnyEstimated,
            rows.Sum(r => r.Co2Grams), TimeSpan.FromSeconds(_secondsBefore + _clock.Elapsed.TotalSeconds), stopReason, LearningRate, BatchSize);
        Recorder.WriteSummary(result);
        if (_distillation is not null)
            Recorder.Say($"the teacher's forward passes took {_distillation.TeacherTime.TotalSeconds:0.0} s of this process, counted in its energy");
        string model = _validation.Stacks.Count == 0 ? $"the model is epoch {_bestEpoch}'s (nothing held out)" : $"best epoch {_bestEpoch} with validation Dice {result.BestValidationDice:0.0000}";
        Recorder.Say($"stopped: {stopReason}; {model}; {result.TotalEnergyKj:0.00} kJ ({(result.EnergyEstimated ? "estimated" : "measured")})");
        return result;
    }

    /// <summary>The model this run produces: the weight average when it keeps one, else the trained weights.</summary>
    private Models.SegmentationModel ResultModel => _average?.Model ?? Parts.Model;

    public void Dispose()
    {
        _average?.Dispose();
        Parts.Model.Dispose();
        Parts.Optimizer.Dispose();
        _distillation?.Dispose();
        _energy.Dispose();
    }
}
