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

    /// <summary>Sigmoid probabilities for a batch of prepared slices (flip test-time augmentation when asked), computed by libtorch.</summary>
    public float[] Probabilities(float[] input, int count, int size, bool flipTta)
    {
        using var scalars = ScalarLifetimeGuard.Enter();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var images = Images(input, count, size);
        var probabilities = torch.sigmoid(model.call(images).to_type(ScalarType.Float32));
        if (flipTta)
        {
            var flipped = compute.PrepareInput(images.flip(3));
            var back = torch.sigmoid(model.call(flipped).to_type(ScalarType.Float32)).flip(3);
            probabilities = (probabilities + back) / 2;
        }
        return probabilities.contiguous().cpu().data<float>().ToArray();
    }

    /// <summary>The batch on the model's device, in its input type and memory layout (inside the caller's dispose scope).</summary>
    private Tensor Images(float[] input, int count, int size) =>
        compute.PrepareInput(torch.tensor(input, [count, 1, size, size]).to(device).to_type(inputType));

    public void Dispose() => model.Dispose();
}
