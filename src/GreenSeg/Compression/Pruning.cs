using System.Runtime.Serialization;
using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training;

namespace GreenSeg.Compression;

/// <summary>How <c>greenseg compress prune</c> prunes.</summary>
public enum PruningMethod
{
    /// <summary>Unstructured global magnitude pruning: the smallest convolution weights become zeros (<see cref="PruningMasks"/>).</summary>
    [EnumMember(Value = "magnitude")] Magnitude,
    /// <summary>Structured L1-norm channel pruning of the blocks' internal channels: a narrower model (<see cref="ChannelPruning"/>).</summary>
    [EnumMember(Value = "l1-channels")] L1Channels,
}

/// <summary>What `greenseg compress prune` is asked to do.</summary>
public sealed record PruneOptions
{
    /// <summary>A training run folder (its best checkpoint, and its config.yaml for fine-tuning).</summary>
    public required string Run { get; init; }
    /// <summary>The share pruned at the end: of all convolution weights (magnitude), of each block's internal channels (l1-channels).</summary>
    public required double Sparsity { get; init; }
    public PruningMethod Method { get; init; } = PruningMethod.Magnitude;
    public required string Output { get; init; }
    /// <summary>Prune in this many steps, to Sparsity·k/K at step k, fine-tuning after each.</summary>
    public int Iterations { get; init; } = 1;
    /// <summary>Epochs of fine-tuning after each step, on the run's data and recipe (a final run); 0 prunes once, without.</summary>
    public int FinetuneEpochs { get; init; }
    /// <summary>
    /// The recipe each fine-tuning run trains with (its epochs become <see cref="FinetuneEpochs"/>), e.g. a study's run on the
    /// study's split; null: the run's own config.yaml as a final run (<c>compress prune</c>).
    /// </summary>
    public TrainingOptions? FineTuning { get; init; }

    public PruneOptions Validate()
    {
        if (!(Sparsity is > 0 and < 1)) throw new GreenSegException($"sparsity must lie in (0, 1), got {Sparsity}");
        if (Iterations < 1) throw new GreenSegException($"iterations must be at least 1, got {Iterations}");
        if (FinetuneEpochs < 0) throw new GreenSegException($"finetune-epochs must be at least 0, got {FinetuneEpochs}");
        if (!Enum.IsDefined(Method)) throw new GreenSegException($"unknown pruning method {Method}; valid: {string.Join(", ", ChoiceNames.Names<PruningMethod>())}");
        if (Iterations > 1 && FinetuneEpochs == 0) throw new GreenSegException("iterations need fine-tuning between them: give --finetune-epochs");
        return this;
    }
}

/// <summary>
/// One pruning step: the sparsity it reached (l1-channels: the share of all internal channels removed) and the fine-tuning
/// after it (null without).
/// </summary>
public sealed record PruneStep(int Iteration, double Sparsity, TrainingResult? FineTuning);

/// <summary>
/// The model before and after pruning: parameters and multiply-accumulates per slice (at the model's training size;
/// magnitude pruning's zeros still count, its tensors stay dense), and for l1-channels each block's internal width.
/// </summary>
public sealed record PruneSize(long ParametersBefore, long ParametersAfter, long MacsBefore, long MacsAfter, int SliceSize,
    IReadOnlyList<BlockWidths> Blocks);

/// <summary>The pruned model (a checkpoint folder segment uses) and how it got there.</summary>
public sealed record PruneResult(string Checkpoint, PruningMethod Method, double Sparsity, IReadOnlyList<PruneStep> Steps, PruneSize Size)
{
    public double FineTuningKj => Steps.Sum(s => s.FineTuning?.TotalEnergyKj ?? 0);
}

/// <summary>
/// Magnitude pruning of a trained model, optionally in iterations with fine-tuning between them: OUT/iteration-k is
/// each fine-tuning run (the masks keep pruned weights at zero through it, <see cref="PruningMasks.Hook"/>), and
/// OUT/model.pt with model.json is the pruned model, zeros included; OUT/pruning.json records the steps.
/// </summary>
public static class Pruning
{
    public const string SummaryFileName = "pruning.json";

    /// <summary>The fine-tuning run of step <paramref name="k"/> (from 1) of a pruning into <paramref name="output"/>.</summary>
    public static string IterationFolder(string output, int k) => Path.Combine(output, $"iteration-{k}");

    public static PruneResult Run(PruneOptions options, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (manifest, weights) = CheckpointManifest.Locate(options.Run);
        if (options.Method == PruningMethod.L1Channels) ChannelPruning.RequireSupported(manifest.Model);
        string output = Path.GetFullPath(options.Output);
        if (File.Exists(Path.Combine(output, CheckpointManifest.WeightsFileName)))
            throw new InvalidInputException(output, "already holds a pruned model; choose another --out");
        var recipe = options.FinetuneEpochs <= 0 ? null
            : options.FineTuning is { } given ? given with { Schedule = given.Schedule with { Epochs = options.FinetuneEpochs } }
            : FineTuningRecipe(options);
        // The pruned model is the fine-tuned weights themselves, whose zeros are exact; a moving average of them would not be sparse.
        if (recipe is not null) recipe = recipe with { Optimisation = recipe.Optimisation with { EmaDecay = 0 } };
        var original = Measure(manifest);
        var current = manifest;
        var steps = new List<PruneStep>();
        for (int k = 1; k <= options.Iterations; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double sparsity = options.Sparsity * k / options.Iterations;
            if (recipe is null)
            {
                (current, double reached) = PruneOnce(options.Method, current, weights, sparsity, output, original.Widths);
                steps.Add(new PruneStep(k, reached, null));
                weights = Path.Combine(output, CheckpointManifest.WeightsFileName);
                break;
            }
            string run = IterationFolder(output, k);
            if (options.Method == PruningMethod.Magnitude)
            {
                using var hook = new PruneAtStart(weights, sparsity);
                // A model narrowed before (l1-channels) is rebuilt at its widths.
                var trained = Trainer.Train(recipe, run, observer, cancellationToken, new TrainingPlugins { Hooks = [hook], InternalWidths = current.InternalWidths });
                steps.Add(new PruneStep(k, hook.Sparsity, trained));
            }
            else
            {
                // The narrower model is built before training starts: prune here, then fine-tune from its weights.
                string pruned = Path.Combine(output, $"iteration-{k}-pruned");
                (current, double reached) = PruneOnce(options.Method, current, weights, sparsity, pruned, original.Widths);
                using var hook = new PruneAtStart(Path.Combine(pruned, CheckpointManifest.WeightsFileName), null);
                var trained = Trainer.Train(recipe, run, observer, cancellationToken, new TrainingPlugins { Hooks = [hook], InternalWidths = current.InternalWidths });
                steps.Add(new PruneStep(k, reached, trained));
            }
            weights = Path.Combine(run, "checkpoints", "last", CheckpointManifest.WeightsFileName);
        }
        if (recipe is not null) CopyCheckpoint(current, weights, output);
        var final = Measure(current);
        var blocks = original.Widths.Select((w, i) => new BlockWidths(i, original.Kinds[i], w, final.Widths[i])).ToList();
        var size = new PruneSize(original.Parameters, final.Parameters, original.Macs, final.Macs, manifest.Size, options.Method == PruningMethod.L1Channels ? blocks : []);
        var result = new PruneResult(Path.Combine(output, CheckpointManifest.WeightsFileName), options.Method, steps[^1].Sparsity, steps, size);
        AtomicFile.WriteAllText(Path.Combine(output, SummaryFileName), JsonSerializer.Serialize(result, RunFolder.JsonOptions)); // a final run's Dice is NaN
        return result;
    }

    /// <summary>The run's own recipe as a final run of the fine-tuning epochs, at the rate the run trained with (no LR finder on pruned weights).</summary>
    private static TrainingOptions FineTuningRecipe(PruneOptions options)
    {
        string config = Path.Combine(options.Run, "config.yaml"), summary = Path.Combine(options.Run, RunFolder.SummaryFileName);
        if (!File.Exists(config))
            throw new InvalidInputException(Path.GetFullPath(options.Run), "has no config.yaml to fine-tune with; give a training run folder, or prune without --finetune-epochs");
        var recipe = TrainingOptions.LoadWritten(config);
        double rate = recipe.Optimisation.LearningRateIsAuto && File.Exists(summary)
            ? JsonSerializer.Deserialize<TrainingResult>(File.ReadAllText(summary), RunFolder.JsonOptions)?.LearningRate ?? 1e-3
            : recipe.Optimisation.LearningRateIsAuto ? 1e-3 : recipe.Optimisation.FixedLearningRate;
        return recipe with
        {
            Final = true,
            ValidationData = null,
            Schedule = recipe.Schedule with { Epochs = options.FinetuneEpochs },
            Optimisation = recipe.Optimisation with { LearningRate = rate.ToString("R", System.Globalization.CultureInfo.InvariantCulture) },
        };
    }

    /// <summary>
    /// Prunes the checkpoint to <paramref name="sparsity"/> (l1-channels: of each block's <paramref name="originalWidths"/>) and
    /// saves it in <paramref name="output"/>; returns its manifest and the sparsity reached.
    /// </summary>
    private static (CheckpointManifest Manifest, double Sparsity) PruneOnce(PruningMethod method, CheckpointManifest manifest, string weights,
        double sparsity, string output, IReadOnlyList<int> originalWidths)
    {
        using var model = manifest.CreateModel();
        ModelWeights.Load(model, weights);
        Directory.CreateDirectory(output);
        if (method == PruningMethod.Magnitude)
        {
            using var masks = PruningMasks.Global(model, sparsity);
            ModelWeights.Save(model, Path.Combine(output, CheckpointManifest.WeightsFileName));
            manifest.Save(output);
            return (manifest, masks.Sparsity);
        }
        var pruned = ChannelPruning.Prune(model, sparsity, originalWidths);
        using var narrow = pruned.Model;
        var narrowManifest = manifest with { InternalWidths = pruned.InternalWidths };
        ModelWeights.Save(narrow, Path.Combine(output, CheckpointManifest.WeightsFileName));
        narrowManifest.Save(output);
        return (narrowManifest, 1 - (double)pruned.InternalWidths.Sum() / originalWidths.Sum());
    }

    /// <summary>Parameters, MACs per slice at the training size, and the prunable blocks' internal widths and kinds.</summary>
    private static (long Parameters, long Macs, IReadOnlyList<int> Widths, IReadOnlyList<string> Kinds) Measure(CheckpointManifest manifest)
    {
        using var model = manifest.CreateModel();
        var profile = ModelProfiler.Profile(model, manifest.Size, manifest.Size);
        var blocks = model.PrunableBlocks();
        return (profile.Parameters, profile.MultiplyAccumulates,
            [.. blocks.Select(b => (int)b.InternalChannels.Producer.Conv.OutChannels)], [.. blocks.Select(b => b.BlockKind)]);
    }

    private static void CopyCheckpoint(CheckpointManifest manifest, string weights, string output)
    {
        Directory.CreateDirectory(output);
        File.Copy(weights, Path.Combine(output, CheckpointManifest.WeightsFileName));
        manifest.Save(output);
    }

    /// <summary>
    /// Loads the weights to fine-tune when a run starts (not on its resume); for magnitude pruning (a sparsity given) it
    /// prunes them and keeps them pruned.
    /// </summary>
    private sealed class PruneAtStart(string weights, double? sparsity) : ITrainingHook, IDisposable
    {
        private PruningMasks? _masks;

        public double Sparsity => _masks?.Sparsity ?? 0;

        public void OnTrainStart(TrainingRun run)
        {
            if (run.FirstEpoch == 0) ModelWeights.Load(run.Parts.Model, weights);
            // On a resume the pruned weights are the checkpoint's zeros: the same share of smallest magnitudes.
            if (sparsity is { } share) _masks = PruningMasks.Global(run.Parts.Model, share);
        }

        public void AfterOptimizerStep(SegmentationModel model) => _masks?.Apply();

        public void Dispose() => _masks?.Dispose();
    }
}
