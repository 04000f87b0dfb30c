using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <summary>
/// Dynamic loss scaling for fp16-mixed training (as PyTorch's GradScaler): the loss is multiplied by a
/// scale before backward so small fp16 gradients do not flush to zero; gradients are divided back
/// before the step; a step whose gradients overflowed is skipped and the scale halved; after
/// <see cref="GrowthInterval"/> clean steps the scale doubles.
/// </summary>
public sealed class DynamicLossScaler
{
    public double Scale { get; private set; }
    public double GrowthFactor { get; }
    public double BackoffFactor { get; }
    public int GrowthInterval { get; }
    public int SkippedSteps { get; private set; }
    private int _cleanSteps;

    public DynamicLossScaler(double initialScale = 65536, double growthFactor = 2, double backoffFactor = 0.5, int growthInterval = 2000)
    {
        Scale = initialScale;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
    }

    public Tensor ScaleLoss(Tensor loss) => loss * Scale;

    /// <summary>Unscales the gradients; steps the optimizer unless they overflowed. Returns whether it stepped.</summary>
    public bool UnscaleAndStep(IEnumerable<Parameter> parameters, OptimizerHelper optimizer, double gradClip = 0)
    {
        var withGrad = parameters.Where(p => p.grad is not null).ToList();
        bool finite = true;
        using (torch.no_grad())
        {
            foreach (var parameter in withGrad)
            {
                var grad = parameter.grad!;
                grad.div_(Scale);
                if (finite && !torch.isfinite(grad).all().item<bool>()) finite = false;
            }
        }
        if (!finite)
        {
            Scale *= BackoffFactor;
            _cleanSteps = 0;
            SkippedSteps++;
            optimizer.zero_grad();
            return false;
        }
        if (gradClip > 0) GradientClipping.ClipNorm(withGrad, gradClip);
        optimizer.step();
        if (++_cleanSteps >= GrowthInterval)
        {
            Scale *= GrowthFactor;
            _cleanSteps = 0;
        }
        return true;
    }
}
