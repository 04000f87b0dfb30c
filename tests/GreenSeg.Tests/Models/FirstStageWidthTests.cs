using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public sealed class FirstStageWidthTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("greenseg-first-stage-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData("unet")]
    [InlineData("attention-unet")]
    public void Only_the_full_resolution_stage_narrows(string name)
    {
        using var plain = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = 8, Seed = 1 });
        using var narrow = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = 8, FirstStageWidth = 4, Seed = 1 });

        narrow.FirstStageWidth.ShouldBe(4);
        plain.FirstStageWidth.ShouldBeNull();
        var plainShapes = plain.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        var narrowShapes = narrow.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        narrowShapes.Keys.ShouldBe(plainShapes.Keys, "the same layers");
        narrowShapes["inConv.conv1.conv.weight"].ShouldBe([4, 1, 3, 3]);
        narrowShapes["head.weight"].ShouldBe([1, 4, 1, 1]);
        // The second level reads the narrow skip but keeps its own width (2 x 8).
        narrowShapes["down.0.conv.conv1.conv.weight"].ShouldBe([16, 4, 3, 3]);
        plainShapes["down.0.conv.conv1.conv.weight"].ShouldBe([16, 8, 3, 3]);
        // Everything below the first level is untouched.
        foreach (var key in plainShapes.Keys.Where(k => k.StartsWith("down.1.", StringComparison.Ordinal) || k.StartsWith("down.3.", StringComparison.Ordinal)))
            narrowShapes[key].ShouldBe(plainShapes[key], key);
        narrow.ParameterCount().ShouldBeLessThan(plain.ParameterCount());

        using var scope = NewDisposeScope();
        narrow.call(randn(2, 1, 32, 32)).shape.ShouldBe([2, 1, 32, 32]);
    }

    [Fact]
    public void Less_work_per_slice_at_full_resolution()
    {
        using var plain = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 16 });
        using var narrow = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 16, FirstStageWidth = 8 });
        var plainProfile = ModelProfiler.Profile(plain, 128, 128);
        var narrowProfile = ModelProfiler.Profile(narrow, 128, 128);
        narrowProfile.GigaMacs.ShouldBeLessThan(plainProfile.GigaMacs * 0.9);
    }

    [Fact]
    public void Channel_pruning_keeps_the_narrow_stage()
    {
        using var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 8, FirstStageWidth = 4, Seed = 5 });
        var pruned = GreenSeg.Compression.ChannelPruning.Prune(model, 0.5);
        using var narrow = pruned.Model;

        narrow.FirstStageWidth.ShouldBe(4);
        narrow.ParameterCount().ShouldBeLessThan(model.ParameterCount());
        using var scope = NewDisposeScope();
        narrow.call(randn(1, 1, 32, 32)).shape.ShouldBe([1, 1, 32, 32]);
    }

    [Theory]
    [InlineData("att-squeeze-unet")]
    [InlineData("micronet")]
    [InlineData("linknet")]
    public void A_network_without_a_separate_full_resolution_stage_refuses_it(string name)
    {
        var error = Should.Throw<GreenSegException>(() => ModelRegistry.Create(name, new ModelOptions { FirstStageWidth = 8 }));
        error.Message.ShouldContain($"'{name}' has no separate full-resolution stage");
        error.Message.ShouldContain("unet, attention-unet");

        Should.Throw<GreenSegException>(() => new TrainingOptions { Data = "d", Model = name, FirstStageWidth = 8 }.Validate())
            .Message.ShouldContain("first-stage-width");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(1_000_000)]
    public void A_width_out_of_range_is_named(int width)
    {
        Should.Throw<GreenSegException>(() => new TrainingOptions { Data = "d", FirstStageWidth = width }.Validate()).Message.ShouldContain("first-stage-width");
        Should.Throw<GreenSegException>(() => ModelRegistry.Create("unet", new ModelOptions { FirstStageWidth = width })).Message.ShouldContain("FirstStageWidth");
        new CheckpointManifest { Model = "unet", Size = 64, Spacing = 1, FirstStageWidth = width }.Problem().ShouldNotBeNull().ShouldContain("FirstStageWidth");
    }

    [Fact]
    public void The_config_key_reaches_the_model_and_the_manifest_rebuilds_it_for_the_trained_weights()
    {
        var options = TrainingOptions.Parse("data: d\nmodel: unet\nmodel-width: 8\nfirst-stage-width: 4\n", "c.yaml").Validate();
        options.FirstStageWidth.ShouldBe(4);
        TrainingOptions.Parse(options.ToYaml(), "again").ShouldBe(options);
        OptionOverrides.Apply(new TrainingOptions(), [new OptionSetting("first-stage-width", "6")], "t").FirstStageWidth.ShouldBe(6);

        var manifest = RunRecorder.ManifestFor(options with { Compute = options.Compute with { Precision = PrecisionChoice.Fp32 } }, 0, 0.5);
        manifest.FirstStageWidth.ShouldBe(4);
        var restoredManifest = JsonSerializer.Deserialize<CheckpointManifest>(JsonSerializer.Serialize(manifest))!;
        restoredManifest.FirstStageWidth.ShouldBe(4);
        restoredManifest.Problem().ShouldBeNull();

        string weights = Path.Combine(directory, "model.pt");
        using var trained = ModelRegistry.Create("unet", options.ModelOptions() with { Seed = 3 });
        ModelWeights.Save(trained, weights);
        using var restored = restoredManifest.CreateModel();
        ModelWeights.Load(restored, weights);
        trained.eval();
        restored.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = randn(1, 1, 32, 32);
        ModelTestData.BitIdentical(restored.call(input), trained.call(input)).ShouldBeTrue();

        // A run at the model's own width writes no first-stage width into model.json: manifests stay as they were.
        JsonSerializer.Serialize(RunRecorder.ManifestFor(options with { FirstStageWidth = null, Compute = options.Compute with { Precision = PrecisionChoice.Fp32 } }, 0, 0.5))
            .ShouldNotContain("FirstStageWidth");
    }
}
