using GreenSeg.Cli.Commands;
using GreenSeg.Training;

namespace GreenSeg.Tests.Cli;

public sealed class TrainSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greenseg-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void GivenFlagsOverrideTheConfigAndUngivenOnesLeaveIt()
    {
        string config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(config, "data: /somewhere\nmodel: unet\nepochs: 7\npue: 1.4\nlearning-rate: 1e-4\n");

        var options = new TrainSettings { Config = config, Epochs = 3, Optimizer = "lion" }.Resolve();

        options.Data.ShouldBe("/somewhere");
        options.Model.ShouldBe("unet");
        options.Epochs.ShouldBe(3);
        options.Optimizer.ShouldBe("lion");
        options.LearningRate.ShouldBe("1e-4");
        options.Pue.ShouldBe(1.4);
    }

    [Fact]
    public void SyntheticContrastFlagSetsTheAugmentationProbabilityAndKeepsTheRestOfTheSection()
    {
        string config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(config, "data: /somewhere\naugmentation:\n  synthetic-contrast-probability: 0.2\n  synthetic-contrast-classes: 8\n");

        new TrainSettings { Config = config }.Resolve().Augmentation.SyntheticContrastProbability.ShouldBe(0.2);
        var options = new TrainSettings { Config = config, SyntheticContrast = 0.7 }.Resolve();

        options.Augmentation.SyntheticContrastProbability.ShouldBe(0.7);
        options.Augmentation.SyntheticContrastClasses.ShouldBe(8);
        new TrainSettings().Resolve().Augmentation.SyntheticContrastProbability.ShouldBe(0);
    }

    [Fact]
    public void BaselineIsTheStudysRecipeAndTheDefaultIsTheGreenOne()
    {
        var baseline = new TrainSettings { Baseline = true, Data = "d" }.Resolve();
        (baseline.Model, baseline.ModelWidth, baseline.Precision, baseline.ChannelsLast, baseline.Cache, baseline.Prefetch, baseline.Optimizer, baseline.LrPolicy)
            .ShouldBe(("unet", 64, "fp32", false, "none", 0, "adam", "fixed"));
        var green = new TrainSettings { Data = "d" }.Resolve();
        (green.Model, green.ModelWidth, green.Precision, green.ChannelsLast, green.Cache, green.Optimizer, green.LearningRate, green.Size, green.Spacing, green.Epochs)
            .ShouldBe(("unet", 16, "auto", true, "memory", "adam", "1e-3", 128, 2.0, 25));
        green.Prefetch.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void AnUnknownConfigKeyIsAClearErrorNamingTheFile()
    {
        string config = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(config, "data: x\nlearnig-rate: 3\n");
        var error = Should.Throw<GreenSeg.Common.InvalidInputException>(() => new TrainSettings { Config = config }.Resolve());
        error.Path.ShouldBe(config);
        error.Problem.ShouldContain("line 2");
    }
}
