using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

internal static class ModelTestData
{
    public static TheoryData<string> AllModels()
    {
        var data = new TheoryData<string>();
        foreach (var name in ModelRegistry.Names) data.Add(name);
        return data;
    }

    /// <summary>||a - b|| / ||b||.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        return (actual - expected).norm().item<float>() / expected.norm().item<float>();
    }

    /// <summary>Same shape and every element equal.</summary>
    public static bool BitIdentical(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        return actual.shape.SequenceEqual(expected.shape) && eq(actual, expected).all().item<bool>();
    }

    /// <summary>One train-mode forward pass so BatchNorm running statistics move away from their initial values.</summary>
    public static void UpdateBatchNormStatistics(SegmentationModel model, int size = 64)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.train();
        model.call(randn(2, model.InChannels, size, size));
        model.eval();
    }
}
