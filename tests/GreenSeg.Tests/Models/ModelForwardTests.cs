using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

/// <summary>The heavy tests (full-size forward passes, backward of every model) in one class so they run one at a time.</summary>
public class ModelForwardTests
{
    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void LogitsHaveTheInputResolutionAt256(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions { Seed = 1 });
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = model.call(randn(1, 1, 256, 256));
        output.shape.ShouldBe([1, 1, 256, 256]);
        output.dtype.ShouldBe(ScalarType.Float32);
        isfinite(output).all().item<bool>().ShouldBeTrue();
    }

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void NonSquareInputAndOtherChannelCountsWork(string name)
    {
        // 96 and 160 are multiples of every model's total stride (at most 32).
        using var model = ModelRegistry.Create(name, new ModelOptions { InChannels = 2, OutChannels = 3, Seed = 2 });
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = model.call(randn(1, 2, 96, 160));
        output.shape.ShouldBe([1, 3, 96, 160]);
    }

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void GradientsReachEveryParameter(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions { Seed = 3 });
        model.train();
        using var scope = NewDisposeScope();
        // Fixed weights and data: at random initialisation a ReLU can be dead for a whole small batch
        // (e.g. a squeeze-excitation bottleneck), which would make the check depend on the draw.
        var logits = model.call(ModelTestData.RandomNormal(3, 2, 1, 64, 64));
        var target = (ModelTestData.RandomNormal(4, 2, 1, 64, 64) > 0).to(ScalarType.Float32);
        nn.functional.binary_cross_entropy_with_logits(logits, target).backward();

        var withoutGradient = model.named_parameters()
            .Where(p => p.parameter.grad is null || p.parameter.grad.abs().sum().item<float>() == 0)
            .Select(p => p.name).ToList();
        withoutGradient.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("unet", 31.04e6, 0.01)]
    [InlineData("att-squeeze-unet", 2.59e6, 0.01)]
    [InlineData("micronet", 0.16e6, 0.05)]
    public void ParameterCountsMatchThePublishedSizes(string name, double expected, double tolerance)
    {
        using var model = ModelRegistry.Create(name);
        double count = model.ParameterCount();
        Math.Abs(count - expected).ShouldBeLessThanOrEqualTo(expected * tolerance, $"{name} has {count:N0} parameters");
    }
}
