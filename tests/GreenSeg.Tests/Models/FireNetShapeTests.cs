using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public class FireNetShapeTests
{
    private static string[] Parameters(SegmentationModel model) =>
        [.. model.named_parameters().Select(p => $"{p.name} {string.Join("x", p.parameter.shape)}")];

    [Theory]
    // The parameter counts the networks had before their shape could change (greenseg models show).
    [InlineData("micronet", 16, 165_017)]
    [InlineData("squeeze-unet", 64, 2_687_601)]
    [InlineData("att-squeeze-unet", 64, 2_590_041)]
    public void The_default_shape_builds_the_network_as_before(string name, int width, long parameters)
    {
        using var plain = ModelRegistry.Create(name, new ModelOptions { Seed = 1 });
        using var shaped = ModelRegistry.Create(name, new ModelOptions { Seed = 1, FireNet = new FireNetShape() });

        plain.BaseFeatures.ShouldBe(width);
        plain.ParameterCount().ShouldBe(parameters);
        Parameters(shaped).ShouldBe(Parameters(plain));
        foreach (var ((_, a), (_, b)) in plain.named_parameters().Zip(shaped.named_parameters()))
            a.eq(b).all().item<bool>().ShouldBeTrue("same seed, same construction order: the same initial weights");
    }

    [Theory]
    [InlineData("micronet", 3, 2, 0.5)]
    [InlineData("micronet", 5, 1, 0.125)]
    [InlineData("squeeze-unet", 2, 3, 0.25)]
    [InlineData("squeeze-unet", 5, 1, 0.5)]
    public void A_shape_changes_the_stages_fires_and_squeeze_widths(string name, int stages, int fires, double ratio)
    {
        var shape = new FireNetShape { Stages = stages, FiresPerStage = fires, SqueezeRatio = ratio };
        using var model = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = 8, FireNet = shape, Seed = 2 });
        using var plain = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = 8, Seed = 2 });

        model.TotalStride.ShouldBe(1 << stages);
        model.ParameterCount().ShouldNotBe(plain.ParameterCount());
        using var scope = NewDisposeScope();
        int side = 2 << stages;
        model.call(randn(2, 1, side, side)).shape.ShouldBe([2, 1, side, side]);
    }

    [Fact]
    public void Att_squeeze_unet_takes_fires_per_stage_and_squeeze_ratio_but_keeps_its_stages()
    {
        using var model = ModelRegistry.Create("att-squeeze-unet", new ModelOptions { BaseFeatures = 16, FireNet = new FireNetShape { FiresPerStage = 3, SqueezeRatio = 0.25 } });
        using var plain = ModelRegistry.Create("att-squeeze-unet", new ModelOptions { BaseFeatures = 16 });
        model.ParameterCount().ShouldBeGreaterThan(plain.ParameterCount());
        model.named_parameters().Select(p => p.name).ShouldContain(n => n.StartsWith("fires78.fire12.", StringComparison.Ordinal));
        using (var scope = NewDisposeScope()) model.call(randn(1, 1, 64, 64)).shape.ShouldBe([1, 1, 64, 64]);

        Should.Throw<GreenSegException>(() => ModelRegistry.Create("att-squeeze-unet", new ModelOptions { FireNet = new FireNetShape { Stages = 3 } }))
            .Message.ShouldContain("keeps its published stages");
    }

    [Theory]
    [InlineData("unet")]
    [InlineData("enet")]
    public void A_network_without_fire_modules_refuses_a_shape(string name)
    {
        var error = Should.Throw<GreenSegException>(() => ModelRegistry.Create(name, new ModelOptions { FireNet = new FireNetShape { FiresPerStage = 2 } }));

        error.Message.ShouldContain($"'{name}' has no fire modules");
        error.Message.ShouldContain("micronet");
        using var plain = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = 8, FireNet = new FireNetShape() });
    }

    [Theory]
    [InlineData(0, null, null, "stages must lie in 1..6")]
    [InlineData(7, null, null, "stages must lie in 1..6")]
    [InlineData(null, 0, null, "fires-per-stage must lie in 1..8")]
    [InlineData(null, null, 0.0, "squeeze-ratio must lie in (0, 1]")]
    [InlineData(null, null, 1.5, "squeeze-ratio must lie in (0, 1]")]
    public void A_bad_shape_is_named_by_its_config_key(int? stages, int? fires, double? ratio, string problem)
    {
        var shape = new FireNetShape { Stages = stages, FiresPerStage = fires, SqueezeRatio = ratio };

        shape.Problem().ShouldNotBeNull().ShouldContain(problem);
        Should.Throw<GreenSegException>(() => new TrainingOptions { Data = "d", Model = "micronet", FireNet = shape }.Validate()).Message.ShouldContain(problem);
    }

    [Fact]
    public void The_config_reads_the_fire_net_section_and_the_manifest_keeps_the_shape()
    {
        var options = TrainingOptions.Parse("data: d\nmodel: micronet\nfire-net:\n  stages: 3\n  squeeze-ratio: 0.5\n", "c.yaml");
        options.FireNet.ShouldBe(new FireNetShape { Stages = 3, SqueezeRatio = 0.5 });
        OptionOverrides.Apply(new TrainingOptions(), [new OptionSetting("fires-per-stage", "2")], "t").FireNet.FiresPerStage.ShouldBe(2);
        TrainingOptions.Parse(options.ToYaml(), "again").ShouldBe(options);
        Should.Throw<GreenSegException>(() => TrainingOptions.Parse("data: d\nmodel: unet\nfire-net: {stages: 3}\n", "u.yaml").Validate())
            .Message.ShouldContain("'unet' has no fire modules");

        var manifest = Manifest(options);
        manifest.FireNet.ShouldBe(options.FireNet);
        string json = JsonSerializer.Serialize(manifest);
        JsonSerializer.Deserialize<CheckpointManifest>(json)!.FireNet.ShouldBe(options.FireNet);
        using var model = manifest.CreateModel();
        model.TotalStride.ShouldBe(8);

        // A run of the network's own shape writes no fire-net into model.json: manifests stay as they were.
        Manifest(options with { FireNet = new FireNetShape() }).FireNet.ShouldBeNull();
        new CheckpointManifest { Model = "unet", Size = 64, Spacing = 1, FireNet = new FireNetShape { Stages = 2 } }.Problem().ShouldNotBeNull().ShouldContain("no fire modules");
    }

    private static CheckpointManifest Manifest(TrainingOptions options) =>
        RunRecorder.ManifestFor(options with { Compute = options.Compute with { Precision = PrecisionChoice.Fp32 } }, 0, 0.5);
}
