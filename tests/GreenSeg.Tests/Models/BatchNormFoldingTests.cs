using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public class BatchNormFoldingTests
{
    /// <summary>Running statistics and affine parameters as training leaves them: not the identity, so folding has work to do.</summary>
    private static void Randomise(SegmentationModel model, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        using var noGrad = no_grad();
        foreach (var bn in model.modules().OfType<FinalizerSafeBatchNorm2d>())
        {
            long n = bn.running_mean!.shape[0];
            float[] Draw(double low, double high) => Enumerable.Range(0, (int)n).Select(_ => (float)random.Uniform(low, high)).ToArray();
            bn.running_mean.copy_(tensor(Draw(-0.2, 0.2)));
            bn.running_var!.copy_(tensor(Draw(0.5, 1.5)));
            bn.weight!.copy_(tensor(Draw(0.5, 1.5)));
            bn.bias!.copy_(tensor(Draw(-0.2, 0.2)));
        }
    }

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void FoldedModelsGiveTheSameOutputWithin1e5(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions { Seed = 3 });
        Randomise(model, 11);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(5);
        var input = randn(2, 1, 64, 64);
        var before = model.call(input).clone();

        int folded = BatchNormFolding.Fold(model);

        folded.ShouldBe(model.modules().OfType<ConvNormAct>().Count(c => c.Folded));
        var after = model.call(input);
        double difference = (after - before).abs().max().item<float>();
        difference.ShouldBeLessThan(1e-5 * Math.Max(1, before.abs().max().item<float>()), $"{name}: {folded} BatchNorms folded");
        BatchNormFolding.Fold(model).ShouldBe(0); // folding twice changes nothing
    }

    [Fact]
    public void AUNetFoldsEveryBatchNormAndTrainingModeIsRefused()
    {
        using var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, Seed = 1 });
        Should.Throw<InvalidOperationException>(() => BatchNormFolding.Fold(model)); // a fresh model is in training mode
        model.eval();
        BatchNormFolding.Fold(model).ShouldBe(model.modules().OfType<FinalizerSafeBatchNorm2d>().Count());
        model.modules().OfType<ComputeConv2d>().Where(c => c.KernelSize[0] == 3).Select(c => c.Bias).ShouldNotContain(b => ReferenceEquals(b, null));
    }
}
