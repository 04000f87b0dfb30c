using TorchSharp;
using TorchSharp.Modules;

namespace GreenSeg.Training;

/// <summary>Gradient-norm clipping, applied between backward() and the optimizer step.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients together so that their global L2 norm is at most <paramref name="maxNorm"/>
    /// (torch.nn.utils.clip_grad_norm_); parameters without a gradient are skipped. Returns the norm before
    /// clipping, worth logging: a norm that keeps hitting the limit means the rate is too high.
    /// </summary>
    public static double ClipNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max gradient norm must be > 0");
        return torch.nn.utils.clip_grad_norm_(parameters.Where(p => p.grad is not null).ToList(), maxNorm);
    }

    /// <summary>Whether every gradient is finite, in one reduction over all of them (parameters without a gradient are skipped).</summary>
    public static bool AllFinite(IEnumerable<Parameter> parameters)
    {
        using var scope = torch.NewDisposeScope();
        var sums = parameters.Select(p => p.grad).OfType<torch.Tensor>().Select(g => g.sum()).ToList();
        // A sum is non-finite exactly when some element is NaN or infinite (or the finite values overflow, also unusable).
        return sums.Count == 0 || torch.stack(sums).sum().isfinite().item<bool>();
    }
}
