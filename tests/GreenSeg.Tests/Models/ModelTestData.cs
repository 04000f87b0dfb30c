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

    /// <summary>
    /// Random values from a private generator: tests run in parallel and torch's global generator is
    /// shared, so value-sensitive tests draw from their own (with <see cref="ModelOptions.Seed"/> for weights).
    /// </summary>
    public static Tensor RandomNormal(long seed, params long[] shape)
    {
        using var generator = new Generator(unchecked((ulong)seed), CPU);
        return randn(shape, generator: generator);
    }

    /// <summary>One train-mode forward pass so BatchNorm running statistics move away from their initial values.</summary>
    public static void UpdateBatchNormStatistics(SegmentationModel model, int size = 64)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.train();
        model.call(RandomNormal(0, 2, model.InChannels, size, size));
        model.eval();
    }
}
