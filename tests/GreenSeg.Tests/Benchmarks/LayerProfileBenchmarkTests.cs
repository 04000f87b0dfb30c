using GreenSeg.Benchmarks;
using GreenSeg.Models;
using GreenSeg.Models.Blocks;

namespace GreenSeg.Tests.Benchmarks;

public sealed class LayerProfileBenchmarkTests
{
    private static LayerProfileResult Profile(string model) => LayerProfileBenchmark.Run(new LayerProfileOptions
    {
        Model = model, Width = 4, Size = 32, Batch = 2, Steps = 1, WarmupSteps = 0, Compute = ComputeSettings.Reference,
    });

    [Fact]
    public void EveryLayerIsCountedOnceAndEveryKindTakesTimeBothWays()
    {
        var result = Profile("unet");
        using var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4 });
        var convolutions = model.modules().OfType<ComputeConvolution>().ToList();
        var kinds = result.Kinds.ToDictionary(k => k.Kind);

        kinds[LayerKind.Conv3x3].Layers.ShouldBe(convolutions.Count(c => c is ComputeConv2d && c.KernelSize.SequenceEqual([3L, 3L])));
        kinds[LayerKind.TransposedConv].Layers.ShouldBe(convolutions.Count(c => c is ComputeConvTranspose2d));
        kinds[LayerKind.BatchNorm].Layers.ShouldBe(model.modules().OfType<FinalizerSafeBatchNorm2d>().Count());
        foreach (var kind in new[] { LayerKind.Conv3x3, LayerKind.TransposedConv, LayerKind.BatchNorm })
        {
            kinds[kind].ForwardMilliseconds.ShouldBeGreaterThan(0, kind.ToString());
            kinds[kind].BackwardMilliseconds.ShouldBeGreaterThan(0, kind.ToString());
        }
        kinds[LayerKind.OptimizerStep].TotalMilliseconds.ShouldBeGreaterThan(0);
        // The parts are disjoint intervals of the step.
        result.Kinds.Sum(k => k.TotalMilliseconds).ShouldBeLessThanOrEqualTo(result.StepMilliseconds * 1.001);
    }

    [Fact]
    public void LayersInsideAnAttentionGateCountAsTheGate()
    {
        var result = Profile("attention-unet");
        using var model = ModelRegistry.Create("attention-unet", new ModelOptions { BaseFeatures = 4 });
        int gateLeaves = model.modules().OfType<AttentionGate>().Sum(g => g.modules().Count(m => !m.children().Any()));
        result.Kinds.Single(k => k.Kind == LayerKind.AttentionGate).Layers.ShouldBe(gateLeaves);
    }
}
