using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <summary>What one optimizer step needs: the model and how it computes, the loss, the optimizer, and the hooks that plug into the step.</summary>
public sealed record TrainingParts(SegmentationModel Model, ComputeSettings Compute, SegmentationLoss Loss, OptimizerHelper Optimizer, Device Device)
{
    /// <summary>fp16 on CUDA only: dynamic loss scaling.</summary>
    public DynamicLossScaler? Scaler { get; init; }
    /// <summary>Largest gradient norm (0: no clipping).</summary>
    public double GradClip { get; init; }
    public IReadOnlyList<ITrainingHook> Hooks { get; init; } = [];
}

/// <summary>The tensors a loss hook may look at: the batch, the network's output and its target.</summary>
public sealed record LossInputs(Tensor Images, Tensor Masks, Tensor Logits);

/// <summary>
/// Where a technique plugs into training (distributed training, pruning, distillation, tuning): every method has a
/// do-nothing default, so a hook implements only what it changes. Tensors given to a hook live in the step's scope.
/// </summary>
public interface ITrainingHook
{
    /// <summary>Once the run's model, optimizer and data are ready, before the first epoch.</summary>
    void OnTrainStart(TrainingRun run) { }

    /// <summary>Replaces the step's loss (e.g. adds a distillation term); called before backward.</summary>
    Tensor OnLoss(LossInputs inputs, Tensor loss) => loss;

    /// <summary>Gradients are computed and not yet checked, clipped or applied (e.g. averaged across processes, masked).</summary>
    void AfterBackward(SegmentationModel model) { }

    /// <summary>The optimizer has moved the weights (e.g. pruned weights set back to zero). Not called for a skipped step.</summary>
    void AfterOptimizerStep(SegmentationModel model) { }

    /// <summary>
    /// An epoch's steps are done, validation comes next (e.g. the ranks of a data-parallel run made to hold rank 0's weights and
    /// buffers). Called for the trained model, then, when the run keeps one, for its weight average (what validation scores).
    /// </summary>
    void BeforeValidation(SegmentationModel model) { }

    /// <summary>An epoch is recorded; its metrics row is final.</summary>
    void OnEpochEnd(TrainingRun run, EpochMetrics metrics) { }
}

/// <summary>One optimizer step, and the host-to-tensor helpers it shares with validation and the finders.</summary>
public static class TrainingStep
{
    /// <summary>
    /// One optimizer step on one batch; returns the loss, or NaN when the step was skipped because a
    /// gradient was not finite (the weights are then left as they were). Everything it creates dies in its scope.
    /// </summary>
    public static double Run(TrainingParts parts, HostBatch batch)
    {
        using var scalars = ScalarLifetimeGuard.Enter();
        using var scope = torch.NewDisposeScope();
        var (model, optimizer) = (parts.Model, parts.Optimizer);
        var (images, masks) = ToTensors(batch, parts.Compute, parts.Device);
        optimizer.zero_grad();
        var logits = model.call(images);
        var value = parts.Loss.Compute(logits, masks);
        foreach (var hook in parts.Hooks) value = hook.OnLoss(new LossInputs(images, masks, logits), value);
        if (parts.Scaler is { } scaler)
        {
            scaler.ScaleLoss(value).backward();
            foreach (var hook in parts.Hooks) hook.AfterBackward(model);
            scaler.UnscaleAndStep(model.parameters(), optimizer, parts.GradClip);
        }
        else
        {
            value.backward();
            foreach (var hook in parts.Hooks) hook.AfterBackward(model);
            // As a loss scaler skips overflowing steps: one non-finite gradient must not poison every weight.
            // On the project's machines libtorch's convolution backward returns NaN now and then for the
            // same inputs (never twice in a row), so a step is skipped rather than the run lost.
            if (!GradientClipping.AllFinite(model.parameters()))
            {
                optimizer.zero_grad();
                return double.NaN;
            }
            if (parts.GradClip > 0) GradientClipping.ClipNorm(model.parameters(), parts.GradClip);
            optimizer.step();
        }
        foreach (var hook in parts.Hooks) hook.AfterOptimizerStep(model);
        return value.item<float>();
    }

    /// <summary>Moves a host batch to tensors in the model's layout.</summary>
    public static (Tensor Images, Tensor Masks) ToTensors(HostBatch batch, ComputeSettings compute, Device device)
    {
        long[] shape = [batch.Count, 1, batch.Size, batch.Size];
        var images = torch.tensor(batch.Images, shape).to(device);
        var masks = torch.tensor(batch.Masks, shape).to(device);
        return (compute.PrepareInput(images), masks);
    }

    /// <summary>Prepared samples as one host batch, unaugmented.</summary>
    public static HostBatch BatchOf(IReadOnlyList<PreparedSample> samples, int size)
    {
        int pixels = size * size;
        var images = new float[samples.Count * pixels];
        var masks = new float[samples.Count * pixels];
        for (int i = 0; i < samples.Count; i++)
            BatchLoader.CopyWriter(samples[i], Random.Shared, images.AsSpan(i * pixels, pixels), masks.AsSpan(i * pixels, pixels));
        return new HostBatch(images, masks, samples.Count, size);
    }
}
