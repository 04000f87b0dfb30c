using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

[Collection(nameof(SerialTorch))]
public sealed class NonFiniteStepTests
{
    [Fact]
    public void AllFiniteSeesANanOrInfiniteGradient()
    {
        var p = new TorchSharp.Modules.Parameter(torch.zeros(3));
        p.grad = torch.tensor(new float[] { 1, 2, 3 });
        GradientClipping.AllFinite([p]).ShouldBeTrue();
        p.grad = torch.tensor(new float[] { 1, float.NaN, 3 });
        GradientClipping.AllFinite([p]).ShouldBeFalse();
        p.grad = torch.tensor(new float[] { float.PositiveInfinity, 0, 0 });
        GradientClipping.AllFinite([p]).ShouldBeFalse();
    }

    [Fact]
    public void AStepWithANonFiniteGradientLeavesTheWeightsAsTheyWere()
    {
        using var model = ModelRegistry.Create("micronet", new ModelOptions { Seed = 1 });
        var optimizer = OptimizerFactory.Create(OptimizerKind.Adam, model.parameters(), new OptimizerSettings { LearningRate = 1e-2 });
        var compute = new ComputeSettings(Precision.Fp32, false);
        var loss = LossFactory.Create(LossKind.DiceBce);
        const int size = 32;
        var images = new float[2 * size * size];
        images[5] = float.NaN;
        var before = model.parameters().Select(q => q.detach().clone()).ToList();

        var parts = new TrainingParts(model, compute, loss, optimizer, CPU);
        double value = TrainingStep.Run(parts, new HostBatch(images, new float[images.Length], 2, size));

        double.IsNaN(value).ShouldBeTrue();
        model.parameters().Zip(before).All(pair => pair.First.equal(pair.Second).all().item<bool>()).ShouldBeTrue();

        images[5] = 0;
        double finite = TrainingStep.Run(parts, new HostBatch(images, new float[images.Length], 2, size));
        double.IsFinite(finite).ShouldBeTrue();
        model.parameters().Zip(before).Any(pair => !pair.First.equal(pair.Second).all().item<bool>()).ShouldBeTrue();
    }
}
