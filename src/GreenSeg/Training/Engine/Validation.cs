using GreenSeg.Transforms;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <summary>A validation pass: loss, and the Dice of each stack (post-processed or raw, as the run scores) with the raw ones beside.</summary>
internal sealed record ValidationScore(double Loss, IReadOnlyList<double> StackDices, IReadOnlyList<double> RawStackDices)
{
    /// <summary>No validation stacks (a final run): every figure is NaN.</summary>
    public static ValidationScore None { get; } = new(double.NaN, [], []);

    public double DiceMean => StackDices.Count == 0 ? double.NaN : StackDices.Average();
    public double DiceSd => Evaluation.Statistics.SampleStandardDeviation(StackDices) ?? 0;
    public double RawDiceMean => RawStackDices.Count == 0 ? double.NaN : RawStackDices.Average();
}

/// <summary>
/// Scores held-out stacks after an epoch: loss (mean over slices) and each stack's 3D Dice in the prepared geometry,
/// on the thresholded output and, when <see cref="PostProcessing"/> is given, after that post-processing (the recipe's, which
/// segment applies).
/// </summary>
internal sealed record Validation(IReadOnlyList<TrainingStack> Stacks, SampleCache Cache, int BatchSize, int Size, PostProcessingOptions? PostProcessing)
{
    /// <summary>
    /// Scores every stack; in a data-parallel run each rank scores the stacks i with i mod ranks = rank and the
    /// figures are summed across ranks, so every rank ends with the same score.
    /// </summary>
    public ValidationScore Score(TrainingParts parts, IProcessGroup? group = null)
    {
        if (Stacks.Count == 0) return ValidationScore.None;
        parts.Model.eval();
        int n = Stacks.Count, rank = group?.Rank ?? 0, ranks = group?.Size ?? 1;
        // Per stack: its loss sum, raw Dice, post-processed Dice; zero for stacks another rank scores.
        var figures = new double[3 * n];
        using (torch.no_grad())
        {
            for (int i = rank; i < n; i += ranks)
            {
                var (predicted, truth, lossSum) = Predict(parts, Stacks[i], 0);
                var (rawDice, cleanedDice) = ScoreStack(predicted, truth, Size, PostProcessing);
                (figures[i], figures[n + i], figures[2 * n + i]) = (lossSum, rawDice, cleanedDice ?? 0);
            }
        }
        if (ranks > 1) group!.AllreduceSum(figures);
        int slices = Stacks.Sum(s => s.Slices.Count);
        var raw = figures[n..(2 * n)];
        return new ValidationScore(figures[..n].Sum() / slices, PostProcessing is not null ? figures[(2 * n)..] : raw, raw);
    }

    /// <summary>A stack's thresholded prediction and mask on the canvas, and the running loss sum with its slices' losses added in order.</summary>
    private (byte[] Predicted, byte[] Truth, double LossSum) Predict(TrainingParts parts, TrainingStack stack, double lossSum)
    {
        int pixels = Size * Size;
        var predicted = new byte[stack.Slices.Count * pixels];
        var truth = new byte[predicted.Length];
        int offset = 0;
        foreach (var chunk in stack.Slices.Chunk(BatchSize))
        {
            using var scalars = ScalarLifetimeGuard.Enter();
            using var scope = torch.NewDisposeScope();
            var batch = TrainingStep.BatchOf(chunk.Select(Cache.Get).ToList(), Size);
            var (images, masks) = TrainingStep.ToTensors(batch, parts.Compute, parts.Device);
            var logits = parts.Model.call(images);
            lossSum += parts.Loss.Compute(logits, masks).item<float>() * batch.Count;
            // Thresholded on the tensor (strictly above 0.5, as PostProcessing.Threshold) and copied once into the stack's mask.
            (torch.sigmoid(logits.to_type(ScalarType.Float32)) > 0.5f).to_type(ScalarType.Byte).contiguous().cpu().data<byte>()
                .CopyTo(predicted.AsSpan(offset, batch.Count * pixels));
            for (int i = 0; i < batch.Masks.Length; i++) truth[offset + i] = batch.Masks[i] > 0.5f ? (byte)1 : (byte)0;
            offset += batch.Count * pixels;
        }
        return (predicted, truth, lossSum);
    }

    /// <summary>A stack's Dice on its thresholded prediction and, when given post-processing, after it (size x size slices, x fastest).</summary>
    internal static (double Raw, double? PostProcessed) ScoreStack(byte[] predicted, byte[] truth, int size, PostProcessingOptions? postprocessing)
    {
        double raw = Evaluation.Overlap.Dice(predicted, truth);
        if (postprocessing is null) return (raw, null);
        var grid = new VoxelGrid(size, size, predicted.Length / (size * size));
        return (raw, Evaluation.Overlap.Dice(Transforms.PostProcessing.Apply(predicted, grid, postprocessing), truth));
    }
}
