using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training;

namespace GreenSeg.Compression;

/// <summary>What `greenseg compress prune` is asked to do.</summary>
public sealed record PruneOptions
{
    /// <summary>A training run folder (its best checkpoint, and its config.yaml for fine-tuning).</summary>
    public required string Run { get; init; }
    /// <summary>The share of all convolution weights set to zero at the end.</summary>
    public required double Sparsity { get; init; }
    public required string Output { get; init; }
    /// <summary>Prune in this many steps, to Sparsity·k/K at step k, fine-tuning after each.</summary>
    public int Iterations { get; init; } = 1;
    /// <summary>Epochs of fine-tuning after each step, on the run's data and recipe (a final run); 0 prunes once, without.</summary>
    public int FinetuneEpochs { get; init; }

    public PruneOptions Validate()
    {
        if (!(Sparsity is > 0 and < 1)) throw new GreenSegException($"sparsity must lie in (0, 1), got {Sparsity}");
        if (Iterations < 1) throw new GreenSegException($"iterations must be at least 1, got {Iterations}");
        if (FinetuneEpochs < 0) throw new GreenSegException($"finetune-epochs must be at least 0, got {FinetuneEpochs}");
        if (Iterations > 1 && FinetuneEpochs == 0) throw new GreenSegException("iterations need fine-tuning between them: give --finetune-epochs");
        return this;
    }
}

/// <summary>One pruning step: the sparsity it reached and the fine-tuning after it (null without).</summary>
public sealed record PruneStep(int Iteration, double Sparsity, TrainingResult? FineTuning);

/// <summary>The pruned model (a checkpoint folder segment uses) and how it got there.</summary>
public sealed record PruneResult(string Checkpoint, double Sparsity, IReadOnlyList<PruneStep> Steps)
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

    public static PruneResult Run(PruneOptions options, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (manifest, weights) = CheckpointManifest.Locate(options.Run);
        string output = Path.GetFullPath(options.Output);
        if (File.Exists(Path.Combine(output, CheckpointManifest.WeightsFileName)))
            throw new InvalidInputException(output, "already holds a pruned model; choose another --out");
        var recipe = options.FinetuneEpochs > 0 ? FineTuningRecipe(options) : null;
        var steps = new List<PruneStep>();
        for (int k = 1; k <= options.Iterations; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double sparsity = options.Sparsity * k / options.Iterations;
            if (recipe is null)
            {
                steps.Add(new PruneStep(k, PruneOnce(manifest, weights, sparsity, output), null));
                weights = Path.Combine(output, CheckpointManifest.WeightsFileName);
                break;
            }
            using var hook = new PruneAtStart(weights, sparsity);
            string run = Path.Combine(output, $"iteration-{k}");
            var trained = Trainer.Train(recipe, run, observer, cancellationToken, [hook]);
            steps.Add(new PruneStep(k, hook.Sparsity, trained));
            weights = Path.Combine(run, "checkpoints", "last", CheckpointManifest.WeightsFileName);
        }
        if (recipe is not null) CopyCheckpoint(manifest, weights, output);
        var result = new PruneResult(Path.Combine(output, CheckpointManifest.WeightsFileName), steps[^1].Sparsity, steps);
        AtomicFile.WriteAllText(Path.Combine(output, SummaryFileName), JsonSerializer.Serialize(result, RunFolder.JsonOptions)); // a final run's Dice is NaN
        return result;
    }

    /// <summary>The run's own recipe as a final run of the fine-tuning epochs, at the rate the run trained with (no LR finder on pruned weights).</summary>
    private static TrainingOptions FineTuningRecipe(PruneOptions options)
    {
        string config = Path.Combine(options.Run, "config.yaml"), summary = Path.Combine(options.Run, RunFolder.SummaryFileName);
        if (!File.Exists(config))
            throw new InvalidInputException(Path.GetFullPath(options.Run), "has no config.yaml to fine-tune with; give a training run folder, or prune without --finetune-epochs");
        var recipe = TrainingOptions.Load(config);
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

    private static double PruneOnce(CheckpointManifest manifest, string weights, double sparsity, string output)
    {
        using var model = manifest.CreateModel();
        ModelWeights.Load(model, weights);
        using var masks = PruningMasks.Global(model, sparsity);
        Directory.CreateDirectory(output);
        ModelWeights.Save(model, Path.Combine(output, CheckpointManifest.WeightsFileName));
        manifest.Save(output);
        return masks.Sparsity;
    }

    private static void CopyCheckpoint(CheckpointManifest manifest, string weights, string output)
    {
        Directory.CreateDirectory(output);
        File.Copy(weights, Path.Combine(output, CheckpointManifest.WeightsFileName));
        manifest.Save(output);
    }

    /// <summary>Loads the weights to prune when a fine-tuning run starts (not on its resume), prunes them, and keeps them pruned.</summary>
    private sealed class PruneAtStart(string weights, double sparsity) : ITrainingHook, IDisposable
    {
        private PruningMasks? _masks;

        public double Sparsity => _masks?.Sparsity ?? 0;

        public void OnTrainStart(TrainingRun run)
        {
            if (run.FirstEpoch == 0) ModelWeights.Load(run.Parts.Model, weights);
            // On a resume the pruned weights are the checkpoint's zeros: the same share of smallest magnitudes.
            _masks = PruningMasks.Global(run.Parts.Model, sparsity);
        }

        public void AfterOptimizerStep(SegmentationModel model) => _masks?.Apply();

        public void Dispose() => _masks?.Dispose();
    }
}
