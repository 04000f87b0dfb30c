using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training.Optimizers;

namespace GreenSeg.Training;

/// <summary>What plugs into a run besides its options: training hooks, the ranks of a data-parallel run, a pruned model's internal widths.</summary>
public sealed record TrainingPlugins
{
    public static TrainingPlugins None { get; } = new();
    public IReadOnlyList<ITrainingHook> Hooks { get; init; } = [];
    /// <summary>The ranks of a data-parallel run; null: this process alone.</summary>
    public IProcessGroup? Group { get; init; }
    /// <summary>A structurally pruned model's internal widths (<see cref="Models.ModelOptions.InternalWidths"/>); null: the architecture's own.</summary>
    public IReadOnlyList<int>? InternalWidths { get; init; }
    /// <summary>Where this process stops for now, leaving the run resumable (<see cref="TrainingPause"/>); null trains to the end.</summary>
    public TrainingPause? Pause { get; init; }
}

public sealed record TrainingResult(string RunFolder, int EpochsRun, int BestEpoch, double BestValidationDice, double TotalEnergyKj,
    bool EnergyEstimated, double Co2Grams, TimeSpan Duration, string StopReason, double LearningRate, int BatchSize);

/// <summary>
/// Trains a model on a dataset by the given options and writes everything into a run folder (a <see cref="TrainingRun"/>).
/// Every technique of the study is one option (cache, prefetch, optimizer, LR finder, precision, channels-last, batch size,
/// early stopping, energy budget). A run that is killed continues with <see cref="Resume"/> and ends as the uninterrupted
/// run would.
/// </summary>
public static class Trainer
{
    public static TrainingResult Train(TrainingOptions options, string runFolder, ITrainingObserver? observer = null, CancellationToken cancellationToken = default,
        TrainingPlugins? plugins = null)
    {
        plugins ??= TrainingPlugins.None;
        options.Validate();
        // Checked before the run folder is made: a mistyped data path must not leave an empty run behind.
        foreach (string? data in new[] { options.Data, options.ValidationData })
            if (data is not null && !File.Exists(data) && !Directory.Exists(data)) throw new InvalidInputException(Path.GetFullPath(data), "not found");
        var run = new RunFolder(runFolder);
        if (run.FindCheckpoint("last") is not null)
            throw new GreenSegException($"{run.Path}: already holds a run; resume it with --resume {run.Path}, or choose another --output");
        if (plugins.Group.IsRoot()) options.Save(run.ConfigPath);
        return Execute(new TrainingRequest(options, run)
        {
            Observer = observer ?? SilentObserver.Instance, Hooks = plugins.Hooks, Group = plugins.Group, InternalWidths = plugins.InternalWidths, Pause = plugins.Pause,
        }, cancellationToken);
    }

    /// <summary>Continues a stopped (cancelled, killed or paused) run from its last checkpoint, to the end or to the plugins' pause; a structurally pruned model keeps the widths its checkpoint records.</summary>
    public static TrainingResult Resume(string runFolder, ITrainingObserver? observer = null, CancellationToken cancellationToken = default,
        TrainingPlugins? plugins = null)
    {
        plugins ??= TrainingPlugins.None;
        // Checked before RunFolder, which creates its folder: a mistyped path must not leave one behind.
        if (!Directory.Exists(runFolder)) throw new InvalidInputException(Path.GetFullPath(runFolder), "no such run folder to resume");
        var run = new RunFolder(runFolder);
        var options = TrainingOptions.LoadWritten(run.ConfigPath).Validate();
        string last = run.FindCheckpoint("last") ?? throw new InvalidInputException(run.Path, "has no checkpoint to resume from (checkpoints/last)");
        string manifest = Path.Combine(last, CheckpointManifest.FileName);
        var widths = File.Exists(manifest) ? CheckpointManifest.FromJson(File.ReadAllText(manifest), manifest).InternalWidths : null;
        return Execute(new TrainingRequest(options, run, last)
        {
            Observer = observer ?? SilentObserver.Instance, Hooks = plugins.Hooks, Group = plugins.Group, InternalWidths = widths, Pause = plugins.Pause,
        }, cancellationToken);
    }

    private static TrainingResult Execute(TrainingRequest request, CancellationToken cancellationToken)
    {
        using var run = TrainingRun.Open(request);
        return run.Execute(cancellationToken);
    }

    /// <summary>The training stacks and the held-out ones: none in a final run, --validation-data when given, else a by-stack split.</summary>
    public static (IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation) SplitData(TrainingOptions options)
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

    internal static string? CacheFolder(TrainingOptions options) =>
        options.Loading.CacheDir ?? Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "greenseg", "samples");

    internal static OptimizerSettings OptimizerSettingsFrom(TrainingOptions options, double learningRate) => new()
    {
        LearningRate = learningRate,
        WeightDecay = options.Optimisation.WeightDecay,
        Momentum = options.Optimisation.Momentum,
        Nesterov = options.Optimisation.Nesterov,
        GradAveraging = options.Optimisation.GradAveraging,
        AmsGrad = options.Optimisation.AmsGrad,
    };

    /// <summary>Per-slice weights that give every stack, or every sequence, the same share of an epoch; null keeps plain epochs.</summary>
    internal static double[]? BalancingWeights(IReadOnlyList<TrainingStack> stacks, BalanceMode balance)
    {
        if (balance == BalanceMode.None) return null;
        Func<TrainingStack, string> group = balance == BalanceMode.Stack ? s => s.Id : s => s.Sequence;
        var groupSlices = stacks.GroupBy(group).ToDictionary(g => g.Key, g => g.Sum(s => s.Slices.Count));
        return stacks.SelectMany(s => s.Slices.Select(_ => 1.0 / groupSlices[group(s)])).ToArray();
    }

    /// <summary>Batches without end, each pass a stream of its own below <paramref name="stream"/>.</summary>
    internal static IEnumerable<HostBatch> Cycle(BatchLoader loader, int stream)
    {
        for (int pass = 0; ; pass++)
            foreach (var batch in loader.Epoch(stream - pass * 7919)) yield return batch;
    }
}
