using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Models;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using TorchSharp;

namespace GreenSeg.Training;

/// <summary>How long an epoch took: in all, training alone, and waiting for data.</summary>
internal readonly record struct EpochTiming(double EpochSeconds, double TrainSeconds, double DataWaitSeconds);

// On-train-start: the data, model, batch size, learning rate and schedule, in an order that keeps seeded runs identical.
public sealed partial class TrainingRun
{
    private TrainingRun(TrainingRequest request, ResumeState? resume)
    {
        _request = request;
        _resume = resume;
        var options = request.Options;
        bool root = request.Group.IsRoot();
        Recorder = new RunRecorder(request.Run, options, root ? request.Observer : SilentObserver.Instance, writes: root);
        int threads = TorchRuntime.ConfigureThreads(options.Compute.Threads);
        var device = TorchRuntime.ResolveDevice(options.Compute.Device);
        var precision = PrecisionOption.Resolve(options.Compute.Precision, device);

        // Data: a fixed by-stack split, the deterministic preparation (cached as asked), augmentation each epoch.
        var (trainStacks, validationStacks) = Trainer.SplitData(options);
        var preparation = SamplePreparation.Create(options);
        _cache = new SampleCache(options.Loading.Cache, preparation.Prepare, preparation.Fingerprint, Trainer.CacheFolder(options));
        // The run's energy starts with reading and preparing the data.
        _energy = EnergySession.Start(options.ToEnergyOptions(device), Path.GetFileName(request.Run.Path));
        _energy.Monitor.BeginWindow("run");
        // A process killed before writing its emissions row left its energy in the checkpoint: report it as its own row.
        if (root && resume?.UnreportedEnergy is { TotalJoules: > 0 } unreported)
            _energy.AppendEmissions(request.Run.EmissionsPath, unreported.AsMeasurement(_energy.Monitor.Peek("run")));
        (_trainStacks, validationStacks) = Screen(trainStacks, validationStacks, threads);
        var trainSlices = _trainStacks.SelectMany(s => s.Slices).ToList();
        _trainSlices = trainSlices.Count;
        Recorder.Say(Announcement(validationStacks, threads, precision));

        Parts = BuildParts(precision, device);
        BatchSize = resume?.BatchSize ?? ResolveBatchSize(trainSlices);
        Loader = new BatchLoader(trainSlices, _cache, BatchSize, options.Preprocessing.Size, options.Seed, preparation.Writer, options.Loading.Prefetch,
            Trainer.BalancingWeights(_trainStacks, options.Loading.Balance), request.Group is { } group ? (group.Rank, group.Size) : null);
        if (request.Group is { Size: > 1 } ranks)
            Recorder.Say($"data parallel over {ranks.Size} ranks: batch {BatchSize} per rank, global batch {BatchSize * ranks.Size}, {Loader.BatchesPerEpoch} steps per epoch");
        _validation = new Validation(validationStacks, _cache, BatchSize, options.Preprocessing.Size,
            options.Stopping.PostprocessValidation ? options.Postprocessing.ToPostProcessingOptions() : null);
        LearningRate = RestoreOrFindLearningRate();
        _selection = new EarlyStopping(int.MaxValue, 0, options.Stopping.SelectsByDice ? MetricMode.Max : MetricMode.Min);
        _stopRules = StopRules.From(options);
        _diceHistory = resume?.DiceHistory ?? [];
        _energyHistoryKj = resume?.EnergyHistoryKj ?? [];
        _joulesSoFar = resume?.EnergyJoulesSoFar ?? 0;
        _secondsBefore = resume?.SecondsSoFar ?? 0;
        _bestEpoch = resume?.BestEpoch ?? -1;
        if (resume is not null) RestoreProgress(resume);
    }

    /// <summary>Reads every slice once; damaged ones are named and left out; multi-planar cuts are added to the training stacks.</summary>
    private (IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation) Screen(
        IReadOnlyList<TrainingStack> train, IReadOnlyList<TrainingStack> validation, int threads)
    {
        var screened = SliceScreening.Screen(train, validation, _cache, threads);
        foreach (var problem in screened.Problems) Recorder.Say($"skipped {problem.Path}: {problem.Problem}");
        return (MultiPlanarCuts.Add(screened.Train, Options.Loading.MultiPlanar), screened.Validation);
    }

    private string Announcement(IReadOnlyList<TrainingStack> validationStacks, int threads, Precision precision)
    {
        var options = Options;
        int cuts = MultiPlanarCuts.CountCuts(_trainStacks);
        return $"{(_resume is null ? "training" : $"resuming after epoch {_resume.EpochsDone}")} {options.Model} on {_trainStacks.Count} stacks ({_trainSlices} slices{(cuts > 0 ? $", {cuts} of them cut across other planes" : "")}), " +
            (validationStacks.Count == 0 ? $"no stack held out ({options.Schedule.Epochs} epochs, the last is the model)"
                : $"validating on {validationStacks.Count} stacks: {string.Join(", ", validationStacks.Select(s => s.Id))}") + $"; {threads} threads, {PrecisionOption.Name(precision)}" +
            $"{(options.Compute.ChannelsLast ? ", channels-last" : "")}, cache {options.Loading.Cache.ToString().ToLowerInvariant()}, prefetch {options.Loading.Prefetch}";
    }

    /// <summary>The seeded model in its compute mode, the loss, the loss scaler (fp16 only) and the optimizer (its rate set later).</summary>
    private TrainingParts BuildParts(Precision precision, torch.Device device)
    {
        var options = Options;
        torch.manual_seed(options.Seed);
        var model = CreateModel(precision, device);
        var loss = LossFactory.Create(options.Optimisation.Loss, options.Optimisation.LossSettings);
        var scaler = precision == Precision.Fp16Mixed ? new DynamicLossScaler() : null;
        var optimizer = OptimizerFactory.Create(options.Optimisation.Optimizer, model.parameters(), Trainer.OptimizerSettingsFrom(options, 1e-3));
        var compute = new ComputeSettings(precision, options.Compute.ChannelsLast);
        var hooks = _request.Hooks;
        if (options.Distillation.DistillFrom is { } teacher)
        {
            _distillation = DistillationHook.Load(options.Preprocessing.ToPreprocessingOptions(), compute, device, options.Distillation);
            hooks = [.. hooks, _distillation];
            Recorder.Say(FormattableString.Invariant($"distilling from {teacher} ({_distillation.TeacherManifest.Model}), weight {options.Distillation.DistillWeight}, temperature {options.Distillation.DistillTemperature}"));
        }
        if (options.Optimisation.EmaDecay > 0)
        {
            // Last among the hooks: it averages the weights as the others (pruning's masks) left them.
            _average = new WeightAverage(model, CreateModel(precision, device), options.Optimisation.EmaDecay);
            hooks = [.. hooks, _average];
            Recorder.Say(FormattableString.Invariant($"the model is a moving average of the weights (decay {_average.Decay}), updated after every step"));
        }
        return new TrainingParts(model, compute, loss, optimizer, device)
        {
            Scaler = scaler,
            GradClip = options.Optimisation.GradClip,
            Hooks = hooks,
        };
    }

    private SegmentationModel CreateModel(Precision precision, torch.Device device)
    {
        var options = Options;
        var model = ModelRegistry.Create(options.Model, options.ModelOptions() with { Seed = options.Seed, InternalWidths = _request.InternalWidths });
        model.to(device);
        ComputeMode.Apply(model, precision, options.Compute.ChannelsLast);
        return model;
    }

    private int ResolveBatchSize(IReadOnlyList<SliceRef> slices)
    {
        if (!Options.Optimisation.BatchSizeIsAuto) return Options.Optimisation.FixedBatchSize;
        // A data-parallel run's ranks take rank 0's choice.
        return (int)_request.Group.FromRoot(() => FindBatchSize(slices));
    }

    private int FindBatchSize(IReadOnlyList<SliceRef> slices)
    {
        var result = BatchSizeFinder.Find(Parts, _cache, slices, new BatchSizeSearch(Options.Preprocessing.Size, Options.Optimisation.MemoryLimitMb), _energy.Monitor);
        foreach (var trial in result.Trials)
            Recorder.Say(FormattableString.Invariant($"batch-size finder: {trial.BatchSize,3}: {trial.SlicesPerSecond:0.0} slices/s, {(trial.SlicesPerJoule is double perJoule ? $"{perJoule:0.00} slices/J, " : "")}{trial.PeakMemoryMb:0} MB{(trial.Fits ? "" : " (over the limit)")}"));
        Recorder.Say($"batch size {result.Chosen} (most {(result.ByEnergy ? "slices per joule" : "slices per second")} within {Options.Optimisation.MemoryLimitMb} MB)");
        return result.Chosen;
    }

    /// <summary>The checkpoint's weights and rate when resuming, else the fixed rate or the LR finder's; then the schedule over it.</summary>
    private double RestoreOrFindLearningRate()
    {
        double learningRate;
        if (_resume is not null)
        {
            learningRate = _resume.LearningRate;
            ModelWeights.Load(Parts.Model, Path.Combine(_request.ResumeFrom!, CheckpointManifest.WeightsFileName));
            _average?.Restore(Path.Combine(_request.ResumeFrom!, RunRecorder.AveragedWeightsFileName), _resume.AverageUpdates);
        }
        else learningRate = Options.Optimisation.LearningRateIsAuto ? _request.Group.FromRoot(FindLearningRate) : Options.Optimisation.FixedLearningRate;
        OptimizerLearningRate.SetInitial(Parts.Optimizer, learningRate);
        var policyState = _resume is null ? null : new LrPolicyState(_resume.PolicyOptimizerSteps, _resume.PolicyValidationLosses);
        _policy = LrPolicy.Create(Options.Schedule.Policy(), Parts.Optimizer, Options.Schedule.Epochs, Loader.BatchesPerEpoch, policyState);
        if (_resume is not null) Parts.Optimizer.load_state_dict(Path.Combine(_request.ResumeFrom!, "optimizer.pt"));
        return learningRate;
    }

    private double FindLearningRate()
    {
        // The sweep draws batches from a stream of its own (epoch -1), so training batches are untouched.
        using var batches = Trainer.Cycle(Loader, -1).GetEnumerator();
        Parts.Model.train();
        var result = LrFinder.Run(Parts.Model, Parts.Optimizer, () =>
        {
            batches.MoveNext();
            var (images, masks) = TrainingStep.ToTensors(batches.Current, Parts.Compute, Parts.Device);
            return Parts.Loss.Compute(Parts.Model.call(images), masks);
        }, new LrFinderOptions { Steps = Options.Schedule.LrFinderSteps, MinLearningRate = Options.Schedule.LrFinderMinLr, MaxLearningRate = Options.Schedule.LrFinderMaxLr });
        string plot = Recorder.Run.LrFinderPlotPath;
        result.SavePlot(plot);
        const double fallback = 1e-3;
        double chosen = result.Suggestion ?? fallback;
        Recorder.Say(result.Suggestion is null
            ? $"LR finder: no clear suggestion; using {fallback}"
            : FormattableString.Invariant($"LR finder: suggested learning rate {chosen:0.###e+0} ({result.LearningRates.Count} steps; curve in {Path.GetFileName(plot)})"));
        return chosen;
    }

    /// <summary>Metrics rows, model selection and the stop rules' state as the checkpoint left them.</summary>
    private void RestoreProgress(ResumeState resume)
    {
        Recorder.RestoreRows(resume.EpochsDone);
        _selection.Restore(resume.BestMetric, 0);
        foreach (var rule in _stopRules) rule.Restore(resume);
    }

    private EpochMetrics MetricsRow(int epoch, double trainLoss, ValidationScore score, EnergyMeasurement measurement, EpochTiming timing, bool isBest) => new()
    {
        Epoch = epoch,
        TrainLoss = trainLoss,
        ValidationLoss = score.Loss,
        ValidationDice = score.DiceMean,
        ValidationDiceSd = score.DiceSd,
        ValidationDiceRaw = score.RawDiceMean,
        LearningRate = OptimizerLearningRate.Get(Parts.Optimizer),
        BatchSize = BatchSize,
        EpochSeconds = timing.EpochSeconds,
        TrainSeconds = timing.TrainSeconds,
        DataWaitSeconds = timing.DataWaitSeconds,
        SlicesPerSecond = _trainSlices / timing.TrainSeconds,
        EnergyJoules = measurement.TotalJoules,
        CpuJoules = measurement.Cpu.Joules,
        RamJoules = measurement.Ram.Joules,
        GpuJoules = measurement.Gpu.Joules,
        EnergyOrigin = EnergyColumns.From(measurement).Origin,
        Co2Grams = measurement.Co2eqGrams,
        CumulativeEnergyKj = _joulesSoFar / 1000,
        IsBest = isBest,
    };

    private string EpochLine(EpochMetrics row, ValidationScore score, EnergyMeasurement measurement, int skippedSteps)
    {
        var stacks = _validation.Stacks;
        string validated = stacks.Count == 0 ? "" : FormattableString.Invariant(
            $", val loss {score.Loss:0.0000}, val Dice {score.DiceMean:0.0000} ± {score.DiceSd:0.0000} ({string.Join(", ", stacks.Zip(score.StackDices, (stack, dice) => $"{stack.Id} {dice:0.000}"))}{(Options.Stopping.PostprocessValidation ? $"; raw {score.RawDiceMean:0.0000}" : "")})");
        return FormattableString.Invariant($"epoch {row.Epoch}: train loss {row.TrainLoss:0.0000}{validated}, lr {row.LearningRate:0.###e+0}, {row.EpochSeconds:0.0} s (data wait {row.DataWaitSeconds:0.00} s), {row.EnergyKj:0.000} kJ {(measurement.AnyEstimated ? "estimated" : "measured")}{(skippedSteps > 0 ? $", {skippedSteps} steps skipped (non-finite gradient)" : "")}{(row.IsBest && !Options.Final ? " *best" : "")}");
    }

    /// <summary>What a resume from the checkpoint written after this epoch needs.</summary>
    private ResumeState ResumeStateAfter(int epoch, string? stopReason)
    {
        var state = new ResumeState
        {
            EpochsDone = epoch + 1,
            LearningRate = LearningRate,
            BatchSize = BatchSize,
            PolicyOptimizerSteps = _policy.State.OptimizerSteps,
            PolicyValidationLosses = _policy.State.ValidationLosses.ToList(),
            AverageUpdates = _average?.Updates ?? 0,
            BestMetric = _selection.Best,
            BestEpoch = _bestEpoch,
            EnergyJoulesSoFar = _joulesSoFar,
            UnreportedEnergy = CarriedEnergy.Of(_request.Group.SumEnergy(_energy.Monitor.Peek("run"))),
            SecondsSoFar = _secondsBefore + _clock.Elapsed.TotalSeconds,
            DiceHistory = _diceHistory,
            EnergyHistoryKj = _energyHistoryKj,
            StopReason = stopReason,
        };
        foreach (var rule in _stopRules) state = rule.Save(state);
        return state;
    }
}
