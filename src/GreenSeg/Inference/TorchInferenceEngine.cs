using GreenSeg.Common;
using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Inference;

/// <summary>The TorchSharp model, loaded and set up by the segmenter (eval, BatchNorm folded, device, compute mode).</summary>
public sealed class TorchInferenceEngine(SegmentationModel model, ComputeSettings compute, ScalarType inputType, Device device) : IInferenceEngine
{
    public float[] Logits(float[] input, int count, int size)
    {
        using var scalars = ScalarLifetimeGuard.Enter();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return model.call(Images(input, count, size)).to_type(ScalarType.Float32).contiguous().cpu().data<float>().ToArray();
    }

    /// <summary>Sigmoid probabilities for a batch of prepared slices (averaged over the mirrors <paramref name="tta"/> asks for), computed by libtorch.</summary>
    public float[] Probabilities(float[] input, int count, int size, TestTimeAugmentation tta)
    {
        using var scalars = ScalarLifetimeGuard.Enter();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var images = Images(input, count, size);
        var mirrors = tta.Mirrors();
        Tensor? sum = null;
        foreach (var mirror in mirrors)
        {
            var probabilities = mirror.IsIdentity ? Sigmoid(images)
                : Sigmoid(compute.PrepareInput(images.flip(mirror.TensorDimensions()))).flip(mirror.TensorDimensions());
            sum = sum is null ? probabilities : sum + probabilities;
        }
        return (sum! / mirrors.Count).contiguous().cpu().data<float>().ToArray();
    }

    private Tensor Sigmoid(Tensor images) => torch.sigmoid(model.call(images).to_type(ScalarType.Float32));

    /// <summary>The batch on the model's device, in its input type and memory layout (inside the caller's dispose scope).</summary>
    private Tensor Images(float[] input, int count, int size) =>
        compute.PrepareInput(torch.tensor(input, [count, 1, size, size]).to(device).to_type(inputType));

    public void Dispose() => model.Dispose();
}
