using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Training.Losses;

/// <summary>
/// Soft Dice loss, 1 - (2·Σ p·t + smooth) / (Σ p + Σ t + smooth), with p = sigmoid(logits).
/// By default the sums run over every pixel of the whole batch (one Dice per batch), which keeps
/// slices without foreground from producing a noisy 0/0 term; <paramref name="perSample"/> computes one
/// Dice per sample and averages them instead.
/// </summary>
public sealed class DiceLoss(double smooth = DiceLoss.DefaultSmooth, bool perSample = false) : SegmentationLoss
{
    /// <summary>Small enough not to bias the Dice of real masks, large enough to make an empty/empty pair score 1.</summary>
    public const double DefaultSmooth = 1e-5;

    public double Smooth { get; } = smooth >= 0 ? smooth : throw new ArgumentOutOfRangeException(nameof(smooth), smooth, "Dice smooth term must be >= 0");
    public bool PerSample { get; } = perSample;

    public override string Name => "dice";

    protected override Tensor ComputeFp32(Tensor logits, Tensor target)
    {
        var probabilities = torch.sigmoid(logits);
        long[] dims = Enumerable.Range(PerSample ? 1 : 0, (int)logits.dim() - (PerSample ? 1 : 0)).Select(d => (long)d).ToArray();
        var intersection = (probabilities * target).sum(dims);
        var total = probabilities.sum(dims) + target.sum(dims);
        var dice = (2 * intersection + Smooth) / (total + Smooth);
        return (1 - dice).mean();
    }
}
