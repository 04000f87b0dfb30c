using System.Diagnostics;
using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training;

public sealed record TrainingResult(string RunFolder, int EpochsRun, int BestEpoch, double BestValidationDice, double TotalEnergyKj,
    bool EnergyEstimated, double Co2Grams, TimeSpan Duration, string StopReason, double LearningRate, int BatchSize);

/// <summary>
/// Trains a model on a dataset by the given options and writes everything into a run folder.
/// Every technique of the study is one option (cache, prefetch, optimizer, LR finder, precision,
/// channels-last, batch size, early stopping, energy budget). A run that is killed continues with
/// <see cref="Resume"/> and ends as the uninterrupted run would: all randomness derives from
/// (seed, epoch, position), and the LR policy replays what it saw.
/// </summary>
public static class Trainer
{
    /// <summary>Consecutive steps with a non-finite loss or gradient after which a run counts as diverged.</summary>
    public const int MaxSkippedStepsInARow = 25;

    public static TrainingResult Train(TrainingOptions options, string runFolder, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var run = new RunFolder(runFolder);
        if (run.FindCheckpoint("last") is not null)
            throw new GreenSegException($"{run.Path}: already holds a run; resume it with --resume {run.Path}, or choose another --output");
        options.Save(run.ConfigPath);
        return Execute(options, run, resumeFolder: null, observer ?? SilentObserver.Instance, cancellationToken);
    }

    public static TrainingResult Resume(string runFolder, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        // Checked before RunFolder, which creates its folder: a mistyped path must not leave one behind.
        if (!Directory.Exists(runFolder)) throw new InvalidInputException(Path.GetFullPath(runFolder), "no such run folder to resume");
        var run = new RunFolder(runFolder);
        var options = TrainingOptions.Load(run.ConfigPath).Validate();
        string last = run.FindCheckpoint("last") ?? throw new InvalidInputException(run.Path, "has no checkpoint to resume from (checkpoints/last)");
        return Execute(options, run, last, observer ?? SilentObserver.Instance, cancellationToken);
    }

    private static TrainingResult Execute(TrainingOptions options, RunFolder run, string? resumeFolder, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        void Say(string line)
        {
            run.Log(line);
            observer.Message(line);
        }

        int threads = TorchRuntime.ConfigureThreads(options.Threads);
        var device = TorchRuntime.ResolveDevice(options.Device);
        var precision = PrecisionOption.Parse(options.Precision, device);
        var resumeState = resumeFolder is null ? null : RunFolder.ReadState(resumeFolder);
        if (resumeState?.StopReason is { } finished)
            throw new GreenSegException($"{run.Path}: this run already finished ({finished}); start a new one");

        // Data: a fixed by-stack split, the deterministic preparation (cached as asked), augmentation each epoch.
        var (trainStacks, validationStacks) = SplitData(options);
        var preparation = SamplePreparation.Create(options);
        var cache = new SampleCache(TrainingOptions.ParseCacheMode(options.Cache), preparation.Prepare, preparation.Fingerprint, CacheFolder(options));
        // The run's energy starts with reading and preparing the data.
        using var energy = EnergySession.Start(options.ToEnergyOptions(device), Path.GetFileName(run.Path));
        energy.Monitor.BeginWindow("run");
        // A process killed before writing its emissions row left its energy in the checkpoint: report it as its own row.
        if (resumeState?.UnreportedEnergy is { TotalJoules: > 0 } unreported)
            energy.AppendEmissions(run.EmissionsPath, unreported.AsMeasurement(energy.Monitor.Peek("run")));
        var screened = SliceScreening.Screen(trainStacks, validationStacks, cache, threads);
        foreach (var problem in screened.Problems) Say($"skipped {problem.Path}: {problem.Problem}");
        (trainStacks, validationStacks) = (screened.Train, screened.Validation);
        trainStacks = MultiPlanarCuts.Add(trainStacks, options.MultiPlanar);
        var trainSlices = trainStacks.SelectMany(s => s.Slices).ToList();
        int cuts = MultiPlanarCuts.CountCuts(trainStacks);
        Say($"{(resumeState is null ? "training" : $"resuming after epoch {resumeState.EpochsDone}")} {options.Model} on {trainStacks.Count} stacks ({trainSlices.Count} slices{(cuts > 0 ? $", {cuts} of them cut across other planes" : "")}), " +
            (validationStacks.Count == 0 ? $"no stack held out ({options.Epochs} epochs, the last is the model)"
                : $"validating on {validationStacks.Count} stacks: {string.Join(", ", validationStacks.Select(s => s.Id))}") + $"; {threads} threads, {PrecisionOption.Name(precision)}" +
            $"{(options.ChannelsLast ? ", channels-last" : "")}, cache {options.Cache}, prefetch {options.Prefetch}");

        torch.manual_seed(options.Seed);
        var model = ModelRegistry.Create(options.Model, new ModelOptions { BaseFeatures = options.ModelWidth, Seed = options.Seed });
        model.to(device);
        ComputeMode.Apply(model, precision, options.ChannelsLast);
        var compute = new ComputeSettings(precision, options.ChannelsLast);
        var loss = LossFactory.Create(options.Loss);
        var scaler = precision == Precision.Fp16Mixed ? new DynamicLossScaler() : null;
        var optimizer = OptimizerFactory.Create(options.Optimizer, model.parameters(), OptimizerSettingsFrom(options, 1e-3));


        int batchSize = resumeState?.BatchSize ?? ResolveBatchSize(options, model, compute, loss, optimizer, cache, trainSlices, preparation, Say);
        var loader = new BatchLoader(trainSlices, cache, batchSize, options.Size, options.Seed, preparation.Writer, options.Prefetch,
            BalancingWeights(trainStacks, options.Balance));

        double learningRate;
        if (resumeState is not null)
        {
            learningRate = resumeState.LearningRate;
            ModelWeights.Load(model, Path.Combine(resumeFolder!, CheckpointManifest.WeightsFileName));
        }
        else learningRate = ResolveLearningRate(options, model, compute, loss, optimizer, loader, run, Say);
        OptimizerLearningRate.SetInitial(optimizer, learningRate);

        var policyState = resumeState is null ? null : new LrPolicyState(resumeState.PolicyOptimizerSteps, resumeState.PolicyValidationLosses);
        var policy = LrPolicy.Create(new LrPolicySettings { Kind = LrPolicy.Parse(options.LrPolicy) }, optimizer, options.Epochs, loader.BatchesPerEpoch, policyState);
        if (resumeState is not null) optimizer.load_state_dict(Path.Combine(resumeFolder!, "optimizer.pt"));

        bool byDice = options.SelectBestBy == "dice";
        var selection = new EarlyStopping(int.MaxValue, 0, byDice ? MetricMode.Max : MetricMode.Min);
        var stopping = new EarlyStopping(options.EarlyStoppingPatience, options.EarlyStoppingMinDelta, byDice ? MetricMode.Max : MetricMode.Min);
        var budget = options.EnergyBudget is null ? null : EnergyBudget.Parse(options.EnergyBudget);
        var greenStop = options.GreenStopDicePerKj is double threshold ? new GreenStopRule(options.GreenStopWindow, threshold) : null;
        GreenStopDecision? greenDecision = null;
        var rows = MetricsFile.Read(run.MetricsPath).Where(r => r.Epoch < (resumeState?.EpochsDone ?? 0)).ToList();
        var diceHistory = resumeState?.DiceHistory ?? [];
        var energyHistory = resumeState?.EnergyHistoryKj ?? [];
        double joulesBefore = resumeState?.EnergyJoulesSoFar ?? 0, secondsBefore = resumeState?.SecondsSoFar ?? 0;
        int bestEpoch = resumeState?.BestEpoch ?? -1;
        if (resumeState is not null)
        {
            selection.Restore(resumeState.BestMetric, 0);
            stopping.Restore(resumeState.EarlyStoppingBest, resumeState.EpochsWithoutImprovement);
            foreach (var (dice, kj) in diceHistory.Zip(energyHistory)) greenDecision = greenStop?.Observe(kj * 1000, dice);
        }

        string stopReason = $"completed {options.Epochs} epochs";
        int epoch = resumeState?.EpochsDone ?? 0;
        for (; epoch < options.Epochs; epoch++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                stopReason = "cancelled";
                break;
            }
            string window = $"epoch {epoch}";
            energy.Monitor.BeginWindow(window);
            var epochClock = Stopwatch.StartNew();
            // Dropout and other torch randomness: a function of the epoch, so a resumed run replays it.
            torch.manual_seed(options.Seed * 1_000_003L + epoch);
            observer.EpochStarted(epoch, options.Epochs, loader.BatchesPerEpoch);
            var (trainLoss, skippedSteps) = TrainOneEpoch(model, compute, loss, optimizer, policy, loader, epoch, options.GradClip, device, scaler, observer, cancellationToken);
            double trainSeconds = epochClock.Elapsed.TotalSeconds;
            var score = validationStacks.Count == 0 ? ValidationScore.None
                : Validate(model, compute, loss, cache, validationStacks, batchSize, options.Size, device, options.PostprocessValidation);
            var (validationLoss, diceMean, diceSd) = (score.Loss, score.DiceMean, score.DiceSd);
            // Without a held-out set the plateau policy listens to the training loss.
            policy.AfterEpoch(validationStacks.Count == 0 ? trainLoss : validationLoss);
            var measurement = energy.Monitor.EndWindow(window);

            // A final run keeps the last epoch (its schedule was fixed beforehand): every epoch is the best so far.
            bool isBest = options.Final || selection.Update(byDice ? diceMean : validationLoss);
            if (!options.Final) stopping.Update(byDice ? diceMean : validationLoss);
            if (isBest)
            {
                bestEpoch = epoch;
                run.SaveCheckpoint("best", folder => SaveModel(model, folder, options, epoch, diceMean));
            }
            joulesBefore += measurement.TotalJoules;
            diceHistory.Add(diceMean);
            energyHistory.Add(joulesBefore / 1000);
            greenDecision = greenStop?.Observe(joulesBefore, diceMean);
            var row = new EpochMetrics
            {
                Epoch = epoch,
                TrainLoss = trainLoss,
                ValidationLoss = validationLoss,
                ValidationDice = diceMean,
                ValidationDiceSd = diceSd,
                ValidationDiceRaw = score.RawDiceMean,
                LearningRate = OptimizerLearningRate.Get(optimizer),
                BatchSize = batchSize,
                EpochSeconds = epochClock.Elapsed.TotalSeconds,
                TrainSeconds = trainSeconds,
                DataWaitSeconds = loader.LastEpochDataWait.TotalSeconds,
                SlicesPerSecond = trainSlices.Count / trainSeconds,
                EnergyJoules = measurement.TotalJoules,
                CpuJoules = measurement.Cpu.Joules,
                RamJoules = measurement.Ram.Joules,
                GpuJoules = measurement.Gpu.Joules,
                EnergyOrigin = EnergyColumns.From(measurement).Origin,
                Co2Grams = measurement.Co2eqGrams,
                CumulativeEnergyKj = joulesBefore / 1000,
                IsBest = isBest,
            };
            rows.Add(row);
            MetricsFile.Write(run.MetricsPath, rows);
            MetricsFile.PlotLearningCurve(run.LearningCurvePath, rows, $"{options.Model}: {Path.GetFileName(run.Path)}");
            string validated = validationStacks.Count == 0 ? "" : FormattableString.Invariant(
                $", val loss {validationLoss:0.0000}, val Dice {diceMean:0.0000} ± {diceSd:0.0000} ({string.Join(", ", validationStacks.Zip(score.StackDices, (stack, dice) => $"{stack.Id} {dice:0.000}"))}{(options.PostprocessValidation ? $"; raw {score.RawDiceMean:0.0000}" : "")})");
            Say(FormattableString.Invariant($"epoch {epoch}: train loss {trainLoss:0.0000}{validated}, lr {row.LearningRate:0.###e+0}, {row.EpochSeconds:0.0} s (data wait {row.DataWaitSeconds:0.00} s), {row.EnergyKj:0.000} kJ {(measurement.AnyEstimated ? "estimated" : "measured")}{(skippedSteps > 0 ? $", {skippedSteps} steps skipped (non-finite gradient)" : "")}{(isBest && !options.Final ? " *best" : "")}"));
            observer.EpochDone(row, options.Epochs);

            string? reason = null;
            if (stopping.ShouldStop) reason = $"early stopping: no improvement of validation {options.SelectBestBy} for {options.EarlyStoppingPatience} epochs";
            else if (budget is not null && budget.IsExhausted(joulesBefore)) reason = $"energy budget {options.EnergyBudget} spent ({joulesBefore / 1000:0.0} kJ)";
            else if (greenDecision is { Stop: true }) reason = $"green stop: {greenDecision.Reason}";

            var state = new ResumeState
            {
                EpochsDone = epoch + 1,
                LearningRate = learningRate,
                BatchSize = batchSize,
                PolicyOptimizerSteps = policy.State.OptimizerSteps,
                PolicyValidationLosses = policy.State.ValidationLosses.ToList(),
                BestMetric = selection.Best,
                BestEpoch = bestEpoch,
                EarlyStoppingBest = stopping.Best,
                EpochsWithoutImprovement = stopping.EpochsWithoutImprovement,
                EnergyJoulesSoFar = joulesBefore,
                UnreportedEnergy = CarriedEnergy.Of(energy.Monitor.Peek("run")),
                SecondsSoFar = secondsBefore + stopwatch.Elapsed.TotalSeconds,
                DiceHistory = diceHistory,
                EnergyHistoryKj = energyHistory,
                StopReason = reason ?? (epoch + 1 == options.Epochs ? stopReason : null),
            };
            int completed = epoch;
            run.SaveCheckpoint("last", folder =>
            {
                SaveModel(model, folder, options, completed, diceMean);
                optimizer.save_state_dict(Path.Combine(folder, "optimizer.pt"));
                RunFolder.WriteState(folder, state);
            });
            if (reason is not null)
            {
                stopReason = reason;
                epoch++;
                break;
            }
        }

        var total = energy.Monitor.EndWindow("run");
        energy.AppendEmissions(run.EmissionsPath, total);
        // This process's row is written: a later resume (after a cancel) must not report its energy again.
        if (run.FindCheckpoint("last") is { } lastCheckpoint && RunFolder.ReadState(lastCheckpoint) is { UnreportedEnergy: not null } written)
            RunFolder.WriteState(lastCheckpoint, written with { UnreportedEnergy = null });
        var result = new TrainingResult(run.Path, epoch, bestEpoch, selection.Best is double b && byDice ? b : rows.FirstOrDefault(r => r.Epoch == bestEpoch)?.ValidationDice ?? 0,
            joulesBefore / 1000, total.AnyEstimated, rows.Sum(r => r.Co2Grams), TimeSpan.FromSeconds(secondsBefore + stopwatch.Elapsed.TotalSeconds), stopReason, learningRate, batchSize);
        AtomicFile.WriteAllText(run.SummaryPath, JsonSerializer.Serialize(result, RunFolder.JsonOptions));
        Say($"stopped: {stopReason}; best epoch {bestEpoch} with validation Dice {result.BestValidationDice:0.0000}; {result.TotalEnergyKj:0.00} kJ ({(result.EnergyEstimated ? "estimated" : "measured")})");
        model.Dispose();
        optimizer.Dispose();
        return result;
    }

    private static (IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation) SplitData(TrainingOptions options)
    {
        var dataset = DatasetReader.Open(options.Data);
        var stacks = SelectStacks(dataset, options.Stacks);
        if (stacks.Count == 0) throw new InvalidInputException(dataset.Root, "has no training slices with masks");
        if (options.ValidationData is not null)
        {
            var validation = DatasetReader.Open(options.ValidationData).TrainingStacks;
            if (validation.Count == 0) throw new InvalidInputException(options.ValidationData, "has no slices with masks to validate on");
            return (stacks, validation);
        }
        if (options.Final) return (stacks, []);
        if (stacks.Count < 2) throw new InvalidInputException(dataset.Root, "needs at least two stacks to hold one out for validation (or give --validation-data, or --final)");
        return StackSplit.Split(stacks, options.ValidationFraction, options.SplitSeed ?? options.Seed);
    }

    /// <summary>The dataset's stacks, or only the named ones (every name must exist).</summary>
    internal static IReadOnlyList<TrainingStack> SelectStacks(Dataset dataset, IReadOnlyList<string>? ids)
    {
        if (ids is null) return dataset.TrainingStacks;
        var byId = dataset.TrainingStacks.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var missing = ids.Where(id => !byId.ContainsKey(id)).ToList();
        if (missing.Count > 0)
            throw new InvalidInputException(dataset.Root, $"has no labelled stack named {string.Join(", ", missing)} (stacks option)");
        return ids.Distinct(StringComparer.Ordinal).Select(id => byId[id]).ToList();
    }

    private static string? CacheFolder(TrainingOptions options) =>
        options.CacheDir ?? Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "greenseg", "samples");

    internal static OptimizerSettings OptimizerSettingsFrom(TrainingOptions options, double learningRate) => new()
    {
        LearningRate = learningRate,
        WeightDecay = options.WeightDecay,
        Momentum = options.Momentum,
        Nesterov = options.Nesterov,
        GradAveraging = options.GradAveraging,
        AmsGrad = options.AmsGrad,
    };

    /// <summary>Moves a host batch to tensors in the model's layout.</summary>
    internal static (Tensor Images, Tensor Masks) ToTensors(HostBatch batch, ComputeSettings compute, Device device)
    {
        long[] shape = [batch.Count, 1, batch.Size, batch.Size];
        var images = torch.tensor(batch.Images, shape).to(device);
        var masks = torch.tensor(batch.Masks, shape).to(device);
        return (compute.PrepareInput(images), masks);
    }

    /// <summary>
    /// One optimizer step on one batch; returns the loss, or NaN when the step was skipped because a
    /// gradient was not finite (the weights are then left as they were). Everything it creates dies in its scope.
    /// </summary>
    internal static double Step(SegmentationModel model, ComputeSettings compute, SegmentationLoss loss, OptimizerHelper optimizer,
        HostBatch batch, double gradClip, Device device, DynamicLossScaler? scaler = null)
    {
        using var scalars = ScalarLifetimeGuard.Enter();
        using var scope = torch.NewDisposeScope();
        var (images, masks) = ToTensors(batch, compute, device);
        optimizer.zero_grad();
        var value = loss.Compute(model.call(images), masks);
        if (scaler is null)
        {
            value.backward();
            // As a loss scaler skips overflowing steps: one non-finite gradient must not poison every weight.
            // On the project's machines libtorch's convolution backward returns NaN now and then for the
            // same inputs (never twice in a row), so a step is skipped rather than the run lost.
            if (!GradientClipping.AllFinite(model.parameters()))
            {
                optimizer.zero_grad();
                return double.NaN;
            }
            if (gradClip > 0) GradientClipping.ClipNorm(model.parameters(), gradClip);
            optimizer.step();
        }
        else
        {
            scaler.ScaleLoss(value).backward();
            scaler.UnscaleAndStep(model.parameters(), optimizer, gradClip);
        }
        return value.item<float>();
    }

    /// <summary>Trains one epoch; returns the mean training loss over the steps taken and how many steps were skipped.</summary>
    private static (double Loss, int SkippedSteps) TrainOneEpoch(SegmentationModel model, ComputeSettings compute, SegmentationLoss loss, OptimizerHelper optimizer,
        LrPolicy policy, BatchLoader loader, int epoch, double gradClip, Device device, DynamicLossScaler? scaler, ITrainingObserver observer,
        CancellationToken cancellationToken)
    {
        model.train();
        double sum = 0;
        int seen = 0, step = 0, skippedInARow = 0, skipped = 0;
        var clock = Stopwatch.StartNew();
        foreach (var batch in loader.Epoch(epoch, cancellationToken))
        {
            double value = Step(model, compute, loss, optimizer, batch, gradClip, device, scaler);
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
            policy.AfterOptimizerStep();
            sum += value * batch.Count;
            seen += batch.Count;
            observer.StepDone(epoch, step, loader.BatchesPerEpoch, value, seen / clock.Elapsed.TotalSeconds);
        }
        return (sum / seen, skipped);
    }

    /// <summary>
    /// Validation loss (mean over slices) and each stack's 3D Dice in the prepared geometry, on the
    /// thresholded output and, when <paramref name="postprocess"/>, after segment's post-processing.
    /// </summary>
    internal static ValidationScore Validate(SegmentationModel model, ComputeSettings compute, SegmentationLoss loss,
        SampleCache cache, IReadOnlyList<TrainingStack> stacks, int batchSize, int size, Device device, bool postprocess)
    {
        model.eval();
        double lossSum = 0;
        int slices = 0, pixels = size * size;
        var raw = new List<double>();
        var cleaned = new List<double>();
        using var noGrad = torch.no_grad();
        foreach (var stack in stacks)
        {
            var predicted = new byte[stack.Slices.Count * pixels];
            var truth = new byte[predicted.Length];
            int offset = 0;
            foreach (var chunk in stack.Slices.Chunk(batchSize))
            {
                using var scalars = ScalarLifetimeGuard.Enter();
                using var scope = torch.NewDisposeScope();
                var batch = BatchOf(chunk.Select(cache.Get).ToList(), size);
                var (images, masks) = ToTensors(batch, compute, device);
                var logits = model.call(images);
                lossSum += loss.Compute(logits, masks).item<float>() * batch.Count;
                slices += batch.Count;
                // Thresholded on the tensor (strictly above 0.5, as PostProcessing.Threshold) and copied once into the stack's mask.
                (torch.sigmoid(logits.to_type(ScalarType.Float32)) > 0.5f).to_type(ScalarType.Byte).contiguous().cpu().data<byte>()
                    .CopyTo(predicted.AsSpan(offset, batch.Count * pixels));
                for (int i = 0; i < batch.Masks.Length; i++) truth[offset + i] = batch.Masks[i] > 0.5f ? (byte)1 : (byte)0;
                offset += batch.Count * pixels;
            }
            var (rawDice, cleanedDice) = ScoreStack(predicted, truth, size, postprocess);
            raw.Add(rawDice);
            if (cleanedDice is double value) cleaned.Add(value);
        }
        return new ValidationScore(lossSum / slices, postprocess ? cleaned : raw, raw);
    }

    /// <summary>A stack's Dice on its thresholded prediction and, when asked, after post-processing (size x size slices, x fastest).</summary>
    internal static (double Raw, double? PostProcessed) ScoreStack(byte[] predicted, byte[] truth, int size, bool postprocess)
    {
        double raw = Evaluation.Overlap.Dice(predicted, truth);
        if (!postprocess) return (raw, null);
        var grid = new VoxelGrid(size, size, predicted.Length / (size * size));
        return (raw, Evaluation.Overlap.Dice(PostProcessing.Apply(predicted, grid, PostProcessingOptions.Default), truth));
    }

    internal static HostBatch BatchOf(IReadOnlyList<PreparedSample> samples, int size)
    {
        int pixels = size * size;
        var images = new float[samples.Count * pixels];
        var masks = new float[samples.Count * pixels];
        for (int i = 0; i < samples.Count; i++)
            BatchLoader.CopyWriter(samples[i], Random.Shared, images.AsSpan(i * pixels, pixels), masks.AsSpan(i * pixels, pixels));
        return new HostBatch(images, masks, samples.Count, size);
    }

    private static void SaveModel(SegmentationModel model, string folder, TrainingOptions options, int epoch, double dice)
    {
        ModelWeights.Save(model, Path.Combine(folder, CheckpointManifest.WeightsFileName));
        new CheckpointManifest
        {
            Model = options.Model,
            ModelWidth = options.ModelWidth,
            Spacing = options.Spacing,
            Size = options.Size,
            Normalization = options.Normalization,
            Epoch = epoch,
            ValidationDice = dice,
            TrainedWith = $"{options.Optimizer}, {PrecisionOption.Name(PrecisionOption.Parse(options.Precision, TorchRuntime.ResolveDevice(options.Device)))}{(options.ChannelsLast ? ", channels-last" : "")}",
            CanonicalOrientation = options.CanonicalOrientation,
        }.Save(folder);
    }

    private static int ResolveBatchSize(TrainingOptions options, SegmentationModel model, ComputeSettings compute, SegmentationLoss loss,
        OptimizerHelper optimizer, SampleCache cache, IReadOnlyList<SliceRef> slices, SamplePreparation preparation, Action<string> say)
    {
        if (!options.BatchSizeIsAuto) return options.FixedBatchSize;
        var result = BatchSizeFinder.Find(model, compute, loss, optimizer, cache, slices, options.Size, options.MemoryLimitMb, TorchRuntime.ResolveDevice(options.Device));
        foreach (var trial in result.Trials)
            say(FormattableString.Invariant($"batch-size finder: {trial.BatchSize,3}: {trial.SlicesPerSecond:0.0} slices/s, {trial.PeakMemoryMb:0} MB{(trial.Fits ? "" : " (over the limit)")}"));
        say($"batch size {result.Chosen} (best throughput within {options.MemoryLimitMb} MB)");
        return result.Chosen;
    }

    private static double ResolveLearningRate(TrainingOptions options, SegmentationModel model, ComputeSettings compute, SegmentationLoss loss,
        OptimizerHelper optimizer, BatchLoader loader, RunFolder run, Action<string> say)
    {
        if (!options.LearningRateIsAuto) return options.FixedLearningRate;
        // The sweep draws batches from a stream of its own (epoch -1), so training batches are untouched.
        using var batches = Cycle(loader, -1).GetEnumerator();
        model.train();
        var result = LrFinder.Run(model, optimizer, () =>
        {
            batches.MoveNext();
            var (images, masks) = ToTensors(batches.Current, compute, TorchRuntime.ResolveDevice(options.Device));
            return loss.Compute(model.call(images), masks);
        }, new LrFinderOptions { Steps = options.LrFinderSteps, MinLearningRate = 1e-5, MaxLearningRate = 1 });
        result.SavePlot(run.LrFinderPlotPath);
        const double fallback = 1e-3;
        double chosen = result.Suggestion ?? fallback;
        say(result.Suggestion is null
            ? $"LR finder: no clear suggestion; using {fallback}"
            : FormattableString.Invariant($"LR finder: suggested learning rate {chosen:0.###e+0} ({result.LearningRates.Count} steps; curve in {Path.GetFileName(run.LrFinderPlotPath)})"));
        return chosen;
    }

    /// <summary>Per-slice weights that give every stack, or every sequence, the same share of an epoch; null keeps plain epochs.</summary>
    internal static double[]? BalancingWeights(IReadOnlyList<TrainingStack> stacks, string balance)
    {
        if (balance == "none") return null;
        Func<TrainingStack, string> group = balance == "stack" ? s => s.Id : s => s.Sequence;
        var groupSlices = stacks.GroupBy(group).ToDictionary(g => g.Key, g => g.Sum(s => s.Slices.Count));
        return stacks.SelectMany(s => s.Slices.Select(_ => 1.0 / groupSlices[group(s)])).ToArray();
    }

    private static IEnumerable<HostBatch> Cycle(BatchLoader loader, int stream)
    {
        for (int pass = 0; ; pass++)
            foreach (var batch in loader.Epoch(stream - pass * 7919)) yield return batch;
    }
}

/// <summary>A validation pass: loss, and the Dice of each stack (post-processed or raw, as the run scores) with the raw ones beside.</summary>
internal sealed record ValidationScore(double Loss, IReadOnlyList<double> StackDices, IReadOnlyList<double> RawStackDices)
{
    /// <summary>No validation stacks (a final run): every figure is NaN.</summary>
    public static ValidationScore None { get; } = new(double.NaN, [], []);

    public double DiceMean => StackDices.Count == 0 ? double.NaN : StackDices.Average();
    public double DiceSd => Evaluation.Statistics.SampleStandardDeviation(StackDices) ?? 0;
    public double RawDiceMean => RawStackDices.Count == 0 ? double.NaN : RawStackDices.Average();
}
