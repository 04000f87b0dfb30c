using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Compression;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using GreenSeg.Tests.Models;
using GreenSeg.Tests.Training;
using GreenSeg.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Compression;

[Collection(nameof(SerialTorch))]
public sealed class ChannelPruningTests(SmallPhantom phantom, ITestOutputHelper output) : IClassFixture<SmallPhantom>, IDisposable
{
    private const int Size = 64;
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-l1-prune-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string> SupportedModels()
    {
        var data = new TheoryData<string>();
        foreach (var name in ModelRegistry.Names.Where(n => n != "enet")) data.Add(name);
        return data;
    }

    private static SegmentationModel Trained(string name)
    {
        var model = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = OnnxTestData.Width(name), Seed = 7 });
        ModelTestData.UpdateBatchNormStatistics(model, Size);
        return model;
    }

    /// <summary>Parameters one internal channel of the block carries: its producer filter (bias, BN), per-channel layers, consumer input slices.</summary>
    private static long ParametersPerChannel(IPrunableBlock block)
    {
        var set = block.InternalChannels;
        static long Output(ConvNormAct layer) =>
            layer.Conv.Weight.numel() / layer.Conv.OutChannels + (layer.Conv.Bias is null ? 0 : 1) + (layer.Norm is null ? 0 : 2);
        return Output(set.Producer) + set.PerChannel.Sum(Output)
            + set.Consumers.Sum(c => c.Weight.numel() / c.Weight.shape[c is ComputeConvTranspose2d ? 0 : 1]);
    }

    [Theory]
    [MemberData(nameof(SupportedModels))]
    public void ThePrunedModelEqualsTheOriginalWithThePrunedChannelsContributionsRemoved(string name)
    {
        using var model = Trained(name);
        PrunesToTheMaskedOriginal(model).Dispose();
    }

    public static TheoryData<string, int?, int?, double?> ShapedFireNets() => new()
    {
        { "squeeze-unet", 3, 1, null },
        { "micronet", 2, null, 0.5 },
        { "att-squeeze-unet", null, 1, 0.25 },
    };

    /// <summary>An architecture search's network (another fire-net shape) is pruned as it was built, and its manifest rebuilds the narrow one.</summary>
    [Theory]
    [MemberData(nameof(ShapedFireNets))]
    public void APrunedFireNetKeepsItsShape(string name, int? stages, int? firesPerStage, double? squeezeRatio)
    {
        var shape = new FireNetShape { Stages = stages, FiresPerStage = firesPerStage, SqueezeRatio = squeezeRatio };
        using var model = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = OnnxTestData.Width(name), Seed = 7, FireNet = shape });
        ModelTestData.UpdateBatchNormStatistics(model, Size);
        using var published = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = OnnxTestData.Width(name) });
        model.ParameterCount().ShouldNotBe(published.ParameterCount());

        var pruned = PrunesToTheMaskedOriginal(model);

        pruned.BuildOptions.FireNet.ShouldBe(shape);
        var manifest = new CheckpointManifest { Model = name, ModelWidth = OnnxTestData.Width(name), Size = Size, Spacing = 4, FireNet = shape, InternalWidths = pruned.InternalWidths };
        using var rebuilt = manifest.CreateModel();
        rebuilt.ParameterCount().ShouldBe(pruned.ParameterCount());
        pruned.Dispose();
    }

    /// <summary>Prunes half the channels and checks the narrow model computes what the original does with them masked; returns the narrow one.</summary>
    private SegmentationModel PrunesToTheMaskedOriginal(SegmentationModel model)
    {
        string name = model.ModelName;
        var blocks = model.PrunableBlocks();
        blocks.ShouldNotBeEmpty();
        var pruned = ChannelPruning.Prune(model, 0.5);
        var narrow = pruned.Model;
        narrow.eval();

        // Parameters shrink by exactly the removed channels' share; MACs shrink.
        long expectedRemoved = blocks.Select((b, i) => (b.InternalChannels.Producer.Conv.OutChannels - pruned.InternalWidths[i]) * ParametersPerChannel(b)).Sum();
        pruned.Blocks.ShouldAllBe(b => b.After == Math.Max(1, b.Before - b.Before / 2));
        narrow.ParameterCount().ShouldBe(model.ParameterCount() - expectedRemoved);
        long macsBefore = ModelProfiler.Profile(model, Size, Size).MultiplyAccumulates, macsAfter = ModelProfiler.Profile(narrow, Size, Size).MultiplyAccumulates;
        macsAfter.ShouldBeLessThan(macsBefore);
        output.WriteLine($"{name}: {blocks.Count} blocks, parameters {model.ParameterCount()} -> {narrow.ParameterCount()}, MACs {macsBefore} -> {macsAfter}");

        ChannelPruning.RemovePrunedContributions(model, pruned.Kept);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = ModelTestData.RandomNormal(3, 2, 1, Size, Size);
        var expected = model.call(input);
        var actual = narrow.call(input);
        double difference = (actual - expected).abs().max().item<float>();
        output.WriteLine($"{name}: max |pruned - masked| = {difference:E2}, max |logit| = {expected.abs().max().item<float>():F2}");
        difference.ShouldBeLessThan(1e-5);
        return narrow;
    }

    [Theory]
    [MemberData(nameof(SupportedModels))]
    public void AnExportedPrunedModelMatchesTorchSharp(string name)
    {
        using var model = Trained(name);
        var pruned = ChannelPruning.Prune(model, 0.5);
        using var narrow = pruned.Model;
        narrow.eval();
        var manifest = new CheckpointManifest { Model = name, ModelWidth = OnnxTestData.Width(name), Size = Size, Spacing = 4, InternalWidths = pruned.InternalWidths };
        var (difference, largest, _) = OnnxTestData.CompareWithTorch(narrow, manifest);
        difference.ShouldBeLessThan(1e-4, $"{name}: max |logit| {largest}");
    }

    [Fact]
    public void ThePrunedCheckpointLoadsAgainAndSegmentsAPhantomStack()
    {
        string run = Path.Combine(_root, "checkpoint");
        Directory.CreateDirectory(run);
        using (var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, Seed = 2 }))
        {
            ModelTestData.UpdateBatchNormStatistics(model, 32);
            ModelWeights.Save(model, Path.Combine(run, CheckpointManifest.WeightsFileName));
        }
        new CheckpointManifest { Model = "unet", ModelWidth = 4, Size = 32, Spacing = 8 }.Save(run);
        string outputFolder = Path.Combine(_root, "pruned");

        var result = Pruning.Run(new PruneOptions { Run = run, Sparsity = 0.5, Method = PruningMethod.L1Channels, Output = outputFolder });

        result.Method.ShouldBe(PruningMethod.L1Channels);
        result.Size.Blocks.Count.ShouldBe(9); // 1 + 4 down + 4 up DoubleConvs
        result.Size.Blocks.ShouldAllBe(b => b.After * 2 == b.Before);
        result.Size.ParametersAfter.ShouldBeLessThan(result.Size.ParametersBefore);
        result.Size.MacsAfter.ShouldBeLessThan(result.Size.MacsBefore);
        result.Sparsity.ShouldBe(0.5, 1e-9);
        File.ReadAllText(Path.Combine(outputFolder, Pruning.SummaryFileName)).ShouldContain("ParametersBefore");

        var (manifest, weights) = CheckpointManifest.Locate(outputFolder);
        manifest.InternalWidths.ShouldBe(result.Size.Blocks.Select(b => b.After).ToList());
        using (var reloaded = manifest.CreateModel())
        {
            ModelWeights.Load(reloaded, weights);
            reloaded.ParameterCount().ShouldBe(result.Size.ParametersAfter);
        }
        using var segmenter = Segmenter.Load(outputFolder);
        var segmentation = segmenter.Segment(OnnxTestData.PhantomStack(4));
        segmentation.Slices.ShouldBe(4);
    }

    [Fact]
    public void IterativeChannelPruningFineTunesTheNarrowModelAndResumeRebuildsIt()
    {
        var recipe = phantom.Tiny(epochs: 1);
        string run = Path.Combine(_root, "run");
        Trainer.Train(recipe, run);
        string outputFolder = Path.Combine(_root, "iterative");

        var result = Pruning.Run(new PruneOptions { Run = run, Sparsity = 0.5, Method = PruningMethod.L1Channels, Iterations = 2, FinetuneEpochs = 1, Output = outputFolder });

        result.Steps.Count.ShouldBe(2);
        result.Steps.ShouldAllBe(s => s.FineTuning != null && s.FineTuning.EpochsRun == 1);
        result.Steps[0].Sparsity.ShouldBeLessThan(result.Steps[1].Sparsity);
        result.Size.Blocks.ShouldAllBe(b => b.After == Math.Max(1, b.Before - b.Before / 2));
        var (manifest, weights) = CheckpointManifest.Locate(outputFolder);
        manifest.InternalWidths.ShouldBe(result.Size.Blocks.Select(b => b.After).ToList());
        using (var model = manifest.CreateModel()) ModelWeights.Load(model, weights);
        // The fine-tuning run's own checkpoints record the narrow widths, so it resumes with the narrow model.
        var (last, _) = CheckpointManifest.Locate(Path.Combine(outputFolder, "iteration-2", "checkpoints", "last"));
        last.InternalWidths.ShouldBe(manifest.InternalWidths);
    }

    [Fact]
    public void DefaultWidthsGiveTheSameModelAndWrongCountsAreRefused()
    {
        using var plain = ModelRegistry.Create("efficientnet-b0-unet", new ModelOptions { BaseFeatures = 8, Seed = 3 });
        var widths = plain.PrunableBlocks().Select(b => (int)b.InternalChannels.Producer.Conv.OutChannels).ToList();
        using var explicitWidths = ModelRegistry.Create("efficientnet-b0-unet", new ModelOptions { BaseFeatures = 8, Seed = 3, InternalWidths = widths });
        var a = plain.state_dict();
        foreach (var (key, value) in explicitWidths.state_dict()) ModelTestData.BitIdentical(value, a[key]).ShouldBeTrue(key);
        Should.Throw<GreenSegException>(() => ModelRegistry.Create("efficientnet-b0-unet", new ModelOptions { BaseFeatures = 8, InternalWidths = [.. widths, 1] }))
            .Message.ShouldContain("internal widths");
        Should.Throw<GreenSegException>(() => ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, InternalWidths = [.. Enumerable.Repeat(1000, 9)] }))
            .Message.ShouldContain("must lie in");
    }

    [Fact]
    public void UnsupportedArchitecturesAreNamedWithTheReason()
    {
        using var model = ModelRegistry.Create("enet", new ModelOptions { Seed = 1 });
        Should.Throw<GreenSegException>(() => ChannelPruning.Prune(model, 0.5)).Message.ShouldSatisfyAllConditions(
            m => m.ShouldStartWith("enet:"), m => m.ShouldContain("not supported by l1-channels"), m => m.ShouldContain("bottleneck"));
        string run = Path.Combine(_root, "enet");
        Directory.CreateDirectory(run);
        ModelWeights.Save(model, Path.Combine(run, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = "enet", Size = 32, Spacing = 8 }.Save(run);
        Should.Throw<GreenSegException>(() => Pruning.Run(new PruneOptions { Run = run, Sparsity = 0.5, Method = PruningMethod.L1Channels, Output = Path.Combine(_root, "x") }))
            .Message.ShouldContain("not supported by l1-channels");
        Directory.Exists(Path.Combine(_root, "x")).ShouldBeFalse();
    }

    [Fact]
    public void TheMethodIsNamedAsTheCommandLineSpellsIt()
    {
        ChoiceNames.Names<PruningMethod>().ShouldBe(["magnitude", "l1-channels"]);
        JsonSerializer.Serialize(PruningMethod.L1Channels, RunFolder.JsonOptions).ShouldNotBeNull();
    }
}
