using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models;

/// <summary>One executed leaf layer: its path in the model, type, output shape (batch 1), parameters and multiply-accumulates.</summary>
public sealed record LayerProfile(string Name, string Type, long[] OutputShape, long Parameters, long MultiplyAccumulates)
{
    public long OutputElements => OutputShape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// What one forward pass of one image costs. <see cref="PeakTrainingActivationBytes"/>: float32 layer
/// outputs held for the backward pass at the end of the forward pass, the training peak.
/// </summary>
public sealed record ModelProfile(
    string Model, int Height, int Width, long Parameters, long MultiplyAccumulates,
    long PeakTrainingActivationBytes, long LargestActivationBytes, IReadOnlyList<LayerProfile> Layers)
{
    public double GigaMacs => MultiplyAccumulates / 1e9;
}

/// <summary>
/// Measures a model by running one zero image through it with forward hooks on every leaf layer.
/// MACs count convolutions (the only layers with multiply-accumulates in the zoo); element-wise
/// layers count 0. Activation memory (float32, batch 1): training keeps every leaf output for the
/// backward pass, so the estimate is their sum; functional ops (cat, add, multiply) are not layers
/// and are left out, so it is a lower bound.
/// </summary>
public static class ModelProfiler
{
    private const int BytesPerElement = sizeof(float);

    public static ModelProfile Profile(SegmentationModel model, int height, int width)
    {
        model.CheckInputShape([1, model.InChannels, height, width]);
        var layers = new List<LayerProfile>();
        var removers = new List<Action>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module.children().Any() || module is not nn.Module<Tensor, Tensor> leaf) continue;
            string layerName = name;
            long parameters = leaf.parameters().Sum(p => p.numel());
            var remover = leaf.register_forward_hook((m, input, output) =>
            {
                long macs = m is ComputeConvolution conv ? conv.MultiplyAccumulates(input.shape, output.shape) : 0;
                layers.Add(new LayerProfile(layerName, m.GetType().Name, output.shape, parameters, macs));
                return output;
            });
            removers.Add(remover.remove);
        }

        bool wasTraining = model.training;
        try
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var probe = zeros(1, model.InChannels, height, width);
            model.call(probe);
        }
        finally
        {
            foreach (var remove in removers) remove();
            model.train(wasTraining);
        }

        return new ModelProfile(model.ModelName, height, width,
            model.ParameterCount(),
            layers.Sum(l => l.MultiplyAccumulates),
            layers.Sum(l => l.OutputElements) * BytesPerElement,
            layers.Count == 0 ? 0 : layers.Max(l => l.OutputElements) * BytesPerElement,
            layers);
    }
}
