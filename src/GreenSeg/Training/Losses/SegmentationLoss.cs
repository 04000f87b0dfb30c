using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Training.Losses;

/// <summary>
/// A binary segmentation loss on raw logits against a {0,1} target of the same shape (N,1,H,W or N,1,D,H,W).
/// The loss is always computed in fp32: logits from a bf16/fp16 forward pass are cast first, because
/// reductions over a whole batch of pixels lose too much precision in half types.
/// </summary>
public abstract class SegmentationLoss
{
    /// <summary>The name <see cref="LossFactory"/> knows this loss by.</summary>
    public abstract string Name { get; }

    /// <summary>Returns a scalar fp32 tensor (mean over the batch).</summary>
    public Tensor Compute(Tensor logits, Tensor target)
    {
        if (!logits.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"{Name} loss: logits shape [{string.Join(",", logits.shape)}] differs from target shape [{string.Join(",", target.shape)}]");
        // Intermediates die here; only the loss (and its autograd graph) moves to the caller's scope.
        using var scope = torch.NewDisposeScope();
        return ComputeFp32(logits.to_type(ScalarType.Float32), target.to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    /// <summary>The loss on fp32 logits and an fp32 {0,1} target of the same shape.</summary>
    protected abstract Tensor ComputeFp32(Tensor logits, Tensor target);
}
