using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Training.Losses;

/// <summary>
/// Sigmoid focal loss (Lin et al. 2017): mean of α_t·(1 - p_t)^γ·BCE, where p_t is the probability given to
/// the true class. α weights the foreground (α) against the background (1 - α); null turns the weighting
/// off. With γ = 0 and α = null it is exactly BCE.
/// </summary>
public sealed class FocalLoss(double? alpha = FocalLoss.DefaultAlpha, double gamma = FocalLoss.DefaultGamma) : SegmentationLoss
{
    public const double DefaultAlpha = 0.25;
    public const double DefaultGamma = 2.0;

    public double? Alpha { get; } = alpha is null or (>= 0 and <= 1) ? alpha : throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "focal alpha must lie in [0, 1]");
    public double Gamma { get; } = gamma >= 0 ? gamma : throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "focal gamma must be >= 0");

    public override string Name => "focal";

    protected override Tensor ComputeFp32(Tensor logits, Tensor target)
    {
        var loss = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.None);
        // p_t = exp(-BCE) holds for both classes and keeps the stable log-sum-exp form for extreme logits.
        if (Gamma != 0) loss = (1 - torch.exp(-loss)).pow(Gamma) * loss;
        if (Alpha is double a) loss = loss * (a * target + (1 - a) * (1 - target));
        return loss.mean();
    }
}
