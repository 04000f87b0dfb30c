using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Training.Losses;

/// <summary>Binary cross-entropy on logits (BCEWithLogits: log-sum-exp form, stable for large logits), mean over pixels.</summary>
public sealed class BceLoss : SegmentationLoss
{
    public override string Name => "bce";

    protected override Tensor ComputeFp32(Tensor logits, Tensor target) =>
        nn.functional.binary_cross_entropy_with_logits(logits, target);
}
