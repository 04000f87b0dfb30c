using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public class ModelProfilerTests
{
    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void EveryParameterSitsInOneProfiledLayer(string name)
    {
        using var model = ModelRegistry.Create(name);
        var profile = ModelProfiler.Profile(model, 64, 64);
        profile.Layers.Sum(l => l.Parameters).ShouldBe(model.ParameterCount());
        profile.Parameters.ShouldBe(model.ParameterCount());
        profile.MultiplyAccumulates.ShouldBeGreaterThan(0);
        profile.Layers[^1].OutputShape.ShouldBe([1, 1, 64, 64]);
    }

    [Fact]
    public void UNetMultiplyAccumulatesMatchTheClosedForm()
    {
        const int b = 8, side = 64, levels = 4;
        using var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = b });
        var profile = ModelProfiler.Profile(model, side, side);

        long Pixels(int level) => (long)(side >> level) * (side >> level);
        long Width(int level) => (long)b << level;
        long expected = Pixels(0) * (1 * 9 * Width(0) + Width(0) * 9 * Width(0)) + Pixels(0) * Width(0) * 1;
        for (int l = 1; l <= levels; l++)
        {
            expected += Pixels(l) * (Width(l - 1) * 9 * Width(l) + Width(l) * 9 * Width(l));       // encoder DoubleConv
            expected += Pixels(l) * Width(l) * Width(l - 1) * 4;                                  // 2x2 transposed conv
            expected += Pixels(l - 1) * (2 * Width(l - 1) * 9 * Width(l - 1) + Width(l - 1) * 9 * Width(l - 1)); // decoder DoubleConv
        }
        profile.MultiplyAccumulates.ShouldBe(expected);
        profile.LargestActivationBytes.ShouldBe(Width(0) * Pixels(0) * sizeof(float));
        profile.PeakTrainingActivationBytes.ShouldBe(profile.Layers.Sum(l => l.OutputElements) * sizeof(float));
    }

    [Fact]
    public void ConvolutionMacsCountGroupsAndTransposition()
    {
        using var conv = new ComputeConv2d(3, 8, 3);
        conv.MultiplyAccumulates([1, 3, 10, 10], [1, 8, 10, 10]).ShouldBe(8 * 100 * 3 * 9);
        using var depthwise = new ComputeConv2d(8, 8, 3, groups: 8);
        depthwise.MultiplyAccumulates([1, 8, 10, 10], [1, 8, 10, 10]).ShouldBe(8 * 100 * 9);
        using var up = ComputeConvTranspose2d.Doubling(8, 4);
        up.MultiplyAccumulates([1, 8, 5, 5], [1, 4, 10, 10]).ShouldBe(8 * 25 * 4 * 4);
    }

    [Fact]
    public void ProfilingLeavesTheModelAsItWas()
    {
        using var model = ModelRegistry.Create("micronet");
        model.train();
        var first = ModelProfiler.Profile(model, 32, 32);
        model.training.ShouldBeTrue();
        var second = ModelProfiler.Profile(model, 32, 32);
        second.Layers.Count.ShouldBe(first.Layers.Count);
        ModelProfiler.Profile(model, 64, 64).MultiplyAccumulates.ShouldBe(4 * first.MultiplyAccumulates);
    }
}
