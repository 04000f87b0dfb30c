using GreenSeg.Common;
using GreenSeg.Compression;
using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using GreenSeg.Tests.Training;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Compression;

[Collection(nameof(SerialTorch))]
public sealed class PruningTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-prune-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (long Zeros, long Total, float LargestPruned, float SmallestKept) Census(SegmentationModel model)
    {
        using var scope = NewDisposeScope();
        var weights = cat(model.modules().OfType<ComputeConvolution>().Select(c => c.Weight.detach().flatten()).ToList());
        var zero = weights.eq(0);
        long zeros = zero.sum().item<long>();
        var magnitudes = weights.abs();
        float smallestKept = magnitudes.masked_select(zero.logical_not()).min().item<float>();
        return (zeros, weights.numel(), 0, smallestKept);
    }

    [Fact]
    public void GlobalMasksZeroExactlyTheSmallestShare()
    {
        using var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, Seed = 1 });
        using var before = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, Seed = 1 });
        using var masks = PruningMasks.Global(model, 0.6);

        var (zeros, total, _, smallestKept) = Census(model);
        zeros.ShouldBe((long)Math.Floor(0.6 * total));
        masks.Sparsity.ShouldBe((double)zeros / total, 1e-12);
        // Every pruned weight was at most as large as every kept one.
        using var scope = NewDisposeScope();
        var original = cat(before.modules().OfType<ComputeConvolution>().Select(c => c.Weight.detach().flatten()).ToList()).abs();
        var pruned = cat(model.modules().OfType<ComputeConvolution>().Select(c => c.Weight.detach().flatten()).ToList()).eq(0);
        original.masked_select(pruned).max().item<float>().ShouldBeLessThanOrEqualTo(smallestKept);
        Should.Throw<ArgumentOutOfRangeException>(() => PruningMasks.Global(model, 1.0));
    }

    [Fact]
    public void IterativePruningWithFineTuningKeepsTheZerosThroughTrainingAndSaving()
    {
        var recipe = phantom.Tiny(epochs: 1);
        string run = Path.Combine(_root, "run");
        Trainer.Train(recipe, run);
        string output = Path.Combine(_root, "pruned");

        var result = Pruning.Run(new PruneOptions { Run = run, Sparsity = 0.5, Iterations = 2, FinetuneEpochs = 1, Output = output });

        result.Steps.Select(s => s.Sparsity).ShouldBe([0.25, 0.5], new SparsityComparer());
        result.Steps.ShouldAllBe(s => s.FineTuning != null && s.FineTuning.EpochsRun == 1);
        result.FineTuningKj.ShouldBeGreaterThan(0);
        var (manifest, weights) = CheckpointManifest.Locate(output);
        manifest.Model.ShouldBe("micronet");
        using var model = ModelRegistry.Create("micronet", new ModelOptions());
        ModelWeights.Load(model, weights);
        var (zeros, total, _, _) = Census(model);
        ((double)zeros / total).ShouldBe(0.5, 0.001); // fine-tuning moved the weights, the masks kept the zeros
        File.Exists(Path.Combine(output, Pruning.SummaryFileName)).ShouldBeTrue();
        Should.Throw<InvalidInputException>(() => Pruning.Run(new PruneOptions { Run = run, Sparsity = 0.5, Output = output })).Problem.ShouldContain("already holds");
    }

    [Fact]
    public void PruningWithoutFineTuningWritesTheMaskedModelOnly()
    {
        string run = Path.Combine(_root, "checkpoint");
        Directory.CreateDirectory(run);
        using (var model = ModelRegistry.Create("micronet", new ModelOptions { Seed = 2 }))
            ModelWeights.Save(model, Path.Combine(run, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = "micronet", Size = 32, Spacing = 8 }.Save(run);

        var result = Pruning.Run(new PruneOptions { Run = run, Sparsity = 0.8, Output = Path.Combine(_root, "oneshot") });

        result.Steps.ShouldHaveSingleItem().FineTuning.ShouldBeNull();
        result.Sparsity.ShouldBe(0.8, 0.001);
        Should.Throw<InvalidInputException>(() => Pruning.Run(new PruneOptions { Run = run, Sparsity = 0.5, FinetuneEpochs = 1, Output = Path.Combine(_root, "x") }))
            .Problem.ShouldContain("config.yaml");
    }

    [Theory]
    [InlineData(0.0, 1, 0, "sparsity")]
    [InlineData(1.0, 1, 0, "sparsity")]
    [InlineData(0.5, 0, 0, "iterations")]
    [InlineData(0.5, 3, 0, "fine-tuning")]
    [InlineData(0.5, 1, -1, "finetune-epochs")]
    public void BadOptionsAreRefused(double sparsity, int iterations, int epochs, string problem)
    {
        Should.Throw<GreenSegException>(() => new PruneOptions { Run = "r", Output = "o", Sparsity = sparsity, Iterations = iterations, FinetuneEpochs = epochs }.Validate())
            .Message.ShouldContain(problem);
    }

    private sealed class SparsityComparer : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) < 0.001;
        public int GetHashCode(double value) => 0;
    }
}
