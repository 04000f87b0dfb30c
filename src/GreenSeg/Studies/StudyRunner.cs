using System.Globalization;
using System.Text.Json;
using CsvHelper;
using GreenSeg.Common;
using GreenSeg.Compression;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Models;
using GreenSeg.Training;

namespace GreenSeg.Studies;

/// <summary>What happened to a run in one invocation of a study.</summary>
public enum RunAction
{
    /// <summary>Already finished (or failed, without --retry-failed) before: not touched.</summary>
    Skipped,
    /// <summary>Trained from the start.</summary>
    Trained,
    /// <summary>Continued from its last checkpoint.</summary>
    Resumed,
    /// <summary>It had finished, but the study stopped before storing the result (or measuring its deployment); stored now.</summary>
    Recorded,
    /// <summary>Derived from its parent's model: pruned (and fine-tuned), or only deployed differently.</summary>
    Derived,
}

public sealed record RunOutcome(string Name, RunAction Action, RunStatus Status);

public sealed record StudyOutcome(string Folder, IReadOnlyList<RunOutcome> Runs)
{
    public bool Complete(StudyPlan plan) => plan.Runs.All(r => Runs.Any(o => o.Name == r.Name && o.Status is RunStatus.Finished or RunStatus.Failed));
}

/// <summary>What a study tells its user: run-level events, and the training progress of the current run.</summary>
public interface IStudyObserver
{
    ITrainingObserver Training { get; }
    void RunStarting(PlannedRun run, int index, int count, bool resuming);
    void RunSkipped(StoredRun run, int index, int count);
    void RunEnded(StoredRun run, int index, int count);
}

public sealed class SilentStudyObserver : IStudyObserver
{
    public static SilentStudyObserver Instance { get; } = new();
    public ITrainingObserver Training => SilentObserver.Instance;
    public void RunStarting(PlannedRun run, int index, int count, bool resuming) { }
    public void RunSkipped(StoredRun run, int index, int count) { }
    public void RunEnded(StoredRun run, int index, int count) { }
}

/// <summary>
/// Runs a study's runs one after another through <see cref="Trainer"/>, each in OUT/runs/&lt;name&gt;,
/// and keeps OUT/study.db up to date (per epoch, and per run). Stopped at any moment (cancellation,
/// a killed process), it continues where it was on the next invocation: finished runs are skipped,
/// an interrupted run resumes from its last checkpoint, a run that died before its first checkpoint
/// starts again. A run that fails (e.g. diverges) is recorded as failed and the study goes on.
/// Runs come after those they depend on (the plan's order): a derived run (from:) prunes its parent's model with
/// <see cref="Pruning"/>, fine-tuning on the study's split, or only deploys it otherwise, and starts again when it did not
/// finish; a student's distill-from naming a study run trains from that run's model. When the study measures deployment,
/// each run's model is measured by <see cref="DeploymentMeter"/> once it is trained or derived. A run whose dependency
/// failed fails, naming it.
/// </summary>
public static class StudyRunner
{
    public static string RunFolderOf(string studyFolder, string runName) => Path.Combine(Path.GetFullPath(studyFolder), "runs", runName);

    public static StudyOutcome Run(StudyPlan plan, string studyFolder, IStudyObserver? observer = null, bool retryFailed = false,
        CancellationToken cancellationToken = default)
    {
        observer ??= SilentStudyObserver.Instance;
        string root = Path.GetFullPath(studyFolder);
        Directory.CreateDirectory(root);
        using var store = StudyStore.Open(root);
        RecordStudy(store, plan);
        var profiles = new Dictionary<(string, ModelOptions, int), ModelProfile>();
        for (int i = 0; i < plan.Runs.Count; i++)
        {
            var options = plan.Runs[i].Options;
            var key = (options.Model, options.ModelOptions(), options.Preprocessing.Size);
            if (!profiles.TryGetValue(key, out var profile))
            {
                using var model = ModelRegistry.Create(options.Model, options.ModelOptions());
                profiles[key] = profile = ModelProfiler.Profile(model, options.Preprocessing.Size, options.Preprocessing.Size);
            }
            store.Register(plan.Runs[i], i, profile.Parameters, profile.GigaMacs);
        }

        var context = new StudyContext(plan, root, store, observer, cancellationToken);
        var outcomes = new List<RunOutcome>();
        for (int i = 0; i < plan.Runs.Count; i++)
        {
            var run = plan.Runs[i];
            var stored = store.Get(run.Name);
            if (stored.Status == RunStatus.Finished || (stored.Status == RunStatus.Failed && !retryFailed))
            {
                observer.RunSkipped(stored, i, plan.Runs.Count);
                outcomes.Add(new RunOutcome(run.Name, RunAction.Skipped, stored.Status));
                continue;
            }
            if (cancellationToken.IsCancellationRequested) break;
            var outcome = Execute(run, i, context);
            outcomes.Add(outcome);
            if (outcome.Status == RunStatus.Interrupted) break;
        }
        return new StudyOutcome(root, outcomes);
    }

    /// <summary>What every run of one invocation shares; the validation stacks are read once, when first needed.</summary>
    private sealed class StudyContext(StudyPlan plan, string root, StudyStore store, IStudyObserver observer, CancellationToken cancellationToken)
    {
        private (IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation)? _split;
        public StudyPlan Plan => plan;
        public string Root => root;
        public StudyStore Store => store;
        public IStudyObserver Observer => observer;
        public CancellationToken Cancellation => cancellationToken;
        public int Count => plan.Runs.Count;

        /// <summary>The study's training and held-out stacks (every run shares the split).</summary>
        public (IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation) Split => _split ??= Trainer.SplitData(plan.Runs[0].Options);
    }

    private static RunOutcome Execute(PlannedRun run, int index, StudyContext context)
    {
        var (root, store, observer, cancellationToken) = (context.Root, context.Store, context.Observer, context.Cancellation);
        string folder = RunFolderOf(root, run.Name);
        store.MarkRunning(run.Name, folder);
        var recorder = new RecordingObserver(observer.Training, store, run.Name);
        string? last = !run.IsDerived && Directory.Exists(folder) ? new RunFolder(folder).FindCheckpoint("last") : null;
        var action = run.IsDerived ? RunAction.Derived : last is null ? RunAction.Trained : HasFinished(last) ? RunAction.Recorded : RunAction.Resumed;
        TrainingResult? result = null;
        RunTotals? totals = null;
        DeploymentMeasurement? deployment = null;
        string? error = null;
        bool failed = false, complete = false;
        try
        {
            if (UnfinishedDependency(run, store) is { } missing) throw new GreenSegException(missing);
            switch (action)
            {
                case RunAction.Derived:
                    observer.RunStarting(run, index, context.Count, resuming: false);
                    totals = Derive(run, folder, context);
                    break;
                case RunAction.Recorded:
                    result = ReadSummary(new RunFolder(folder));
                    break;
                case RunAction.Resumed:
                    observer.RunStarting(run, index, context.Count, resuming: true);
                    result = Trainer.Resume(folder, recorder, cancellationToken);
                    break;
                default:
                    // Anything here died before its first checkpoint: nothing to keep.
                    if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
                    observer.RunStarting(run, index, context.Count, resuming: false);
                    result = Trainer.Train(WithTeacherFolder(run.Options, context), folder, recorder, cancellationToken);
                    break;
            }
            bool trained = run.IsDerived || (new RunFolder(folder).FindCheckpoint("last") is { } checkpoint && HasFinished(checkpoint));
            if (trained && context.Plan.Deployment is { } measure)
            {
                observer.Training.Message($"{run.Name}: measuring the deployed model ({run.Inference})");
                deployment = DeploymentMeter.Measure(ModelSource(context.Plan, root, run.Name), run.Inference, folder, run.Options,
                    context.Split, measure, cancellationToken);
            }
            complete = trained;
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            failed = true;
            error = e is GreenSegException ? e.Message : $"{e.GetType().Name}: {e.Message}";
        }

        var runFolder = new RunFolder(folder);
        var status = failed ? RunStatus.Failed : complete ? RunStatus.Finished : RunStatus.Interrupted;
        if (!run.IsDerived)
        {
            store.ReplaceEpochs(run.Name, MetricsFile.Read(runFolder.MetricsPath));
            totals = ReadTotals(runFolder);
        }
        store.RecordOutcome(run.Name, status, result, totals, error);
        store.RecordDeployment(run.Name, status == RunStatus.Finished ? CumulativeKj(run, totals, store) : null, deployment);
        observer.RunEnded(store.Get(run.Name), index, context.Count);
        return new RunOutcome(run.Name, action, status);
    }

    /// <summary>Why a run cannot start yet: a run it depends on has not finished (failed, or never ran); null when all have.</summary>
    private static string? UnfinishedDependency(PlannedRun run, StudyStore store)
    {
        foreach (string dependency in new[] { run.From, run.Teacher }.OfType<string>())
            if (store.Get(dependency) is { Status: not RunStatus.Finished } stored)
                return $"needs run '{dependency}', which {(stored.Status == RunStatus.Failed ? "failed" : "has not finished")}";
        return null;
    }

    /// <summary>A derived run's own training energy plus the cumulative energy of the runs it comes from (parent, teacher).</summary>
    private static double? CumulativeKj(PlannedRun run, RunTotals? totals, StudyStore store)
    {
        double sum = totals?.EnergyKj ?? 0;
        foreach (string dependency in new[] { run.From, run.Teacher }.OfType<string>())
        {
            var stored = store.Get(dependency);
            sum += stored.CumulativeEnergyKj ?? stored.TotalEnergyKj ?? 0;
        }
        return sum;
    }

    /// <summary>
    /// Where a run's model is: a trained run's folder (its best checkpoint), a pruned run's folder (model.pt), or, for a run
    /// that only deploys differently, its parent's model.
    /// </summary>
    public static string ModelSource(StudyPlan plan, string studyFolder, string runName)
    {
        var run = plan[runName];
        return run.IsDerived && run.Compress is null ? ModelSource(plan, studyFolder, run.From!) : RunFolderOf(studyFolder, runName);
    }

    /// <summary>The options with a distill-from that names a study run replaced by that run's model.</summary>
    private static TrainingOptions WithTeacherFolder(TrainingOptions options, StudyContext context)
    {
        var teachers = context.Plan.Runs.Where(r => r.Name == options.Distillation.DistillFrom).ToList();
        return teachers.Count == 0 ? options
            : options with { Distillation = options.Distillation with { DistillFrom = ModelSource(context.Plan, context.Root, teachers[0].Name) } };
    }

    /// <summary>
    /// Prunes the parent's model into the run's folder (started afresh: an unfinished derivation is redone), fine-tuning with the
    /// recipe of the trained run it descends from on the study's split, at the rate that run trained with; returns the
    /// fine-tuning runs' energy (none for a run that only deploys differently).
    /// </summary>
    private static RunTotals? Derive(PlannedRun run, string folder, StudyContext context)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        if (run.Compress is not { } compress)
        {
            Directory.CreateDirectory(folder);
            return new RunTotals(0, false, 0);
        }
        var recipe = WithTeacherFolder(run.Options, context);
        if (recipe.Optimisation.LearningRateIsAuto)
        {
            double rate = context.Store.Get(RootOf(context.Plan, run.Name)).LearningRate ?? 1e-3;
            recipe = recipe with { Optimisation = recipe.Optimisation with { LearningRate = rate.ToString("R", CultureInfo.InvariantCulture) } };
        }
        var pruned = Pruning.Run(new PruneOptions
        {
            Run = ModelSource(context.Plan, context.Root, run.From!),
            Method = compress.Method,
            Sparsity = compress.Sparsity,
            Iterations = compress.Iterations,
            FinetuneEpochs = compress.FinetuneEpochs,
            Output = folder,
            FineTuning = recipe,
        }.Validate(), context.Observer.Training, context.Cancellation);
        var tuned = pruned.Steps.Where(s => s.FineTuning is not null)
            .Select(s => ReadTotals(new RunFolder(Pruning.IterationFolder(folder, s.Iteration)))).OfType<RunTotals>().ToList();
        return new RunTotals(tuned.Sum(t => t.EnergyKj), tuned.Any(t => t.Estimated), tuned.Sum(t => t.Co2Grams));
    }

    /// <summary>The trained run a derived run's model descends from.</summary>
    private static string RootOf(StudyPlan plan, string runName) => plan[runName].From is { } from ? RootOf(plan, from) : runName;

    private static bool HasFinished(string checkpoint) => RunFolder.ReadState(checkpoint).StopReason is not null;

    private static TrainingResult ReadSummary(RunFolder run)
    {
        if (!File.Exists(run.SummaryPath)) throw new InvalidInputException(run.SummaryPath, "the run finished but left no summary");
        return JsonSerializer.Deserialize<TrainingResult>(File.ReadAllText(run.SummaryPath), RunFolder.JsonOptions)
            ?? throw new InvalidInputException(run.SummaryPath, "empty run summary");
    }

    /// <summary>
    /// The whole run's energy (every "run" window in emissions_provenance.csv: one per invocation, so
    /// resumes add up; IT energy without PUE) and CO2eq (emissions.csv, kg, PUE included). Null when
    /// the run never closed a window.
    /// </summary>
    public static RunTotals? ReadTotals(RunFolder run)
    {
        string provenance = Path.Combine(run.Path, EmissionsCsvWriter.ProvenanceFileName);
        if (!File.Exists(provenance) || !File.Exists(run.EmissionsPath)) return null;
        double joules = 0;
        bool estimated = false;
        foreach (var row in ReadCsv(provenance).Where(r => r["window"] == "run"))
        {
            joules += double.Parse(row["joules"], CultureInfo.InvariantCulture);
            estimated |= row["origin"] == EnergyOrigin.Estimated.Label();
        }
        double co2Kg = ReadCsv(run.EmissionsPath).Sum(r => double.Parse(r["emissions"], CultureInfo.InvariantCulture));
        return new RunTotals(joules / 1000, estimated, co2Kg * 1000);
    }

    private static List<Dictionary<string, string>> ReadCsv(string path)
    {
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        csv.Read();
        csv.ReadHeader();
        var header = csv.HeaderRecord ?? [];
        var rows = new List<Dictionary<string, string>>();
        while (csv.Read()) rows.Add(header.ToDictionary(h => h, h => csv.GetField(h) ?? "", StringComparer.Ordinal));
        return rows;
    }

    private static void RecordStudy(StudyStore store, StudyPlan plan)
    {
        var definition = plan.Definition;
        if (store.GetMeta("name") is { } name && name != definition.Name)
            throw new GreenSegException($"{store.Path}: holds study '{name}', not '{definition.Name}'; use another --out");
        if (store.GetMeta("data") is { } data && data != plan.Data)
            throw new GreenSegException($"{store.Path}: study '{definition.Name}' ran on {data}, not {plan.Data}; use another --out for another dataset");
        store.SetMeta("name", definition.Name);
        store.SetMeta("description", definition.Description);
        store.SetMeta("source", definition.Source);
        store.SetMeta("data", plan.Data);
        store.SetMeta("baseline_run", plan.BaselineRun);
        store.SetMeta("split", string.Create(CultureInfo.InvariantCulture,
            $"by stack, seed {definition.SplitSeed}, validation fraction {definition.ValidationFraction}"));
        if (plan.Deployment is { } deployment) store.SetMeta("timing_stack", deployment.StackText);
        if (store.GetMeta("created_utc") is null) store.SetMeta("created_utc", DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture));
        foreach (var (key, value) in DescribeEnergy(plan.Runs[0].Options)) store.SetMeta(key, value);
    }

    /// <summary>How this machine's energy is obtained (the same plan every run uses), for the report.</summary>
    public static IEnumerable<(string Key, string Value)> DescribeEnergy(TrainingOptions options)
    {
        using var plan = EnergyPlan.Create(options.ToEnergyOptions(TorchRuntime.ResolveDevice(options.Compute.Device)));
        var machine = plan.Machine;
        yield return ("machine", $"{machine.CpuModel ?? "unknown CPU"}, {machine.LogicalCpus} logical CPUs, {TorchRuntime.ConfigureThreads(options.Compute.Threads)} torch threads, {machine.Os}");
        yield return ("energy_plan", string.Join("\n", plan.Components.Select(c => $"{c.Component.Label()}: {c.Origin.Label()} ({c.Source}) {c.Reason}")));
        yield return ("carbon", string.Create(CultureInfo.InvariantCulture,
            $"{plan.Carbon.GramsPerKilowattHour:0.#} gCO2eq/kWh ({plan.Carbon.CountryName}, {plan.Carbon.Source}), PUE {plan.Carbon.Pue:0.##}"));
    }

    /// <summary>Passes training events on, and stores each epoch's metrics as soon as they exist.</summary>
    private sealed class RecordingObserver(ITrainingObserver inner, StudyStore store, string run) : ITrainingObserver
    {
        public void Message(string line) => inner.Message(line);
        public void EpochStarted(int epoch, int totalEpochs, int steps) => inner.EpochStarted(epoch, totalEpochs, steps);
        public void StepDone(int epoch, int step, int steps, double loss, double slicesPerSecond) => inner.StepDone(epoch, step, steps, loss, slicesPerSecond);

        public void EpochDone(EpochMetrics metrics, int totalEpochs)
        {
            store.UpsertEpoch(run, metrics);
            inner.EpochDone(metrics, totalEpochs);
        }
    }
}
