using GreenSeg.Models;
using GreenSeg.Common;
using GreenSeg.Inference;
using GreenSeg.Training;

namespace GreenSeg.Tests.Training;

/// <summary>Values that cannot be meant are clear errors naming the option, from a config as from the code (never a stack trace later).</summary>
public sealed class BadOptionTests
{
    [Theory]
    [InlineData("size: 8193", "size")]
    [InlineData("size: 8", "size")]
    [InlineData("spacing: .inf", "spacing")]
    [InlineData("spacing: 1e-300", "spacing")]
    [InlineData("spacing: 1e300", "spacing")]
    [InlineData("early-stopping-patience: 0", "early-stopping-patience")]
    [InlineData("early-stopping-patience: -1", "early-stopping-patience")]
    [InlineData("early-stopping-min-delta: .nan", "early-stopping-min-delta")]
    [InlineData("green-stop-dice-per-kj: .nan", "green-stop-dice-per-kj")]
    [InlineData("model-width: 1000000", "model-width")]
    [InlineData("model-width: 2147483647", "model-width")]
    [InlineData("validation-fraction: .nan", "validation-fraction")]
    [InlineData("lr-finder-steps: -5", "lr-finder-steps")]
    [InlineData("green-stop-window: 0", "green-stop-window")]
    [InlineData("grad-clip: -1", "grad-clip")]
    [InlineData("grad-clip: .nan", "grad-clip")]
    [InlineData("momentum: .nan", "momentum")]
    [InlineData("momentum: -0.5", "momentum")]
    [InlineData("memory-limit-mb: -1", "memory-limit-mb")]
    [InlineData("threads: 100000", "threads")]
    [InlineData("threads: -1", "threads")]
    [InlineData("pue: 0.5", "pue")]
    public void A_meaningless_value_is_an_error_naming_its_option(string line, string option)
    {
        var options = TrainingOptions.Parse($"data: d\n{line}\n", "recipe.yaml");

        Should.Throw<GreenSegException>(() => options.Validate()).Message.ShouldStartWith(option);
    }

    [Theory]
    [InlineData("size: abc", "not a number")]
    [InlineData("size: 99999999999999", "not a number")]
    [InlineData("normalization: Sideways", "not one of the names")]
    [InlineData("no-such-option: 1", "unknown option")]
    [InlineData("augmentation: 5", "line 2")]
    public void A_yaml_error_says_what_is_wrong_in_the_configs_words(string line, string expected)
    {
        var error = Should.Throw<InvalidInputException>(() => TrainingOptions.Parse($"data: d\n{line}\n", "recipe.yaml"));

        error.Path.ShouldBe("recipe.yaml");
        error.Problem.ShouldContain(expected);
        error.Problem.ShouldContain(line.Split(':')[0]);
        error.Problem.ShouldNotContain("GreenSeg.");
        error.Problem.ShouldNotContain("System.");
    }

    [Fact]
    public void The_defaults_and_the_studys_recipes_are_valid()
    {
        new TrainingOptions { Data = "d" }.Validate();
        TrainingOptions.StudyGreen("d").Validate();
        TrainingOptions.Baseline("d").Validate();
    }

    [Fact]
    public void Segmentation_refuses_a_thread_count_that_would_hang()
    {
        Should.Throw<GreenSegException>(() => new SegmentOptions { Threads = 100_000 }.Validate()).Message.ShouldContain("threads");
    }
}

/// <summary>A model.json that no model could be built or fed from is named, before any weight is loaded.</summary>
public sealed class BadManifestTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-manifest-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("""{"Model":"unet","Size":0,"Spacing":2}""", "Size 0")]
    [InlineData("""{"Model":"unet","Size":8193,"Spacing":2}""", "Size 8193")]
    [InlineData("""{"Model":"unet","Size":128,"Spacing":0}""", "Spacing 0")]
    [InlineData("""{"Model":"unet","Size":128}""", "Spacing 0")]
    [InlineData("""{"Model":"unet","Spacing":2}""", "Size 0")]
    [InlineData("""{"Model":"unet","Size":128,"Spacing":1e300}""", "Spacing 1E+300")]
    [InlineData("""{"Model":"unet","Size":128,"Spacing":2,"ModelWidth":1000000}""", "ModelWidth 1000000")]
    [InlineData("""{"Model":"unet","Size":128,"Spacing":2,"ModelWidth":2147483647}""", "ModelWidth 2147483647")]
    public void A_manifest_with_meaningless_geometry_or_width_is_named(string json, string expected)
    {
        File.WriteAllText(Path.Combine(_root, CheckpointManifest.FileName), json);
        File.WriteAllText(Path.Combine(_root, CheckpointManifest.WeightsFileName), "not read");

        var error = Should.Throw<InvalidInputException>(() => CheckpointManifest.Locate(_root));

        error.Path.ShouldBe(Path.Combine(_root, CheckpointManifest.FileName));
        error.Problem.ShouldContain(expected);
    }
}
