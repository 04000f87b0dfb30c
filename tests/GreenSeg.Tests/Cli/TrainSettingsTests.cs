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

    /// <summary>Every recipe flag given, each with a value other than its default.</summary>
    private static TrainSettings EveryFlag() => new()
    {
            Data = "d", ValidationData = "v", ValidationFraction = 0.3, Final = true, Seed = 5, SplitSeed = 6, Spacing = 1.5, Size = 96,
            Normalization = GreenSeg.Transforms.IntensityNormalization.Percentile, Cache = GreenSeg.Data.CacheMode.Disk, CacheDir = "c", Prefetch = 3, Augment = false,
            Balance = BalanceMode.Stack, CanonicalOrientation = true, MultiPlanar = 0.5, SyntheticContrast = 0.4, Model = "micronet", ModelWidth = 8,
            Precision = "fp32", ChannelsLast = false, Threads = 1, Device = "cpu", Loss = "dice", Optimizer = "sgd", LearningRate = "2e-3",
            LrPolicy = "cosine", WeightDecay = 0.01, Momentum = 0.8, Nesterov = true, GradAveraging = true, AmsGrad = true, GradClip = 2,
            BatchSize = "4", MemoryLimitMb = 100, Epochs = 9, LrFinderSteps = 30, EarlyStoppingPatience = 4, EarlyStoppingMinDelta = 0.01,
            SelectBestBy = SelectionMetric.Loss, PostprocessValidation = false, EnergyBudget = "5kJ", GreenStopDicePerKj = 0.02, GreenStopWindow = 5,
            CpuTdp = 65, Country = "POL", CarbonIntensity = 700, Pue = 1.3,
    };

    [Fact]
    public void Every_recipe_flag_reaches_its_option()
    {
        var o = EveryFlag().Resolve();

        (o.Data, o.ValidationData, o.ValidationFraction, o.Final, o.Seed, o.SplitSeed, o.Spacing, o.Size).ShouldBe(("d", "v", 0.3, true, 5, (int?)6, 1.5, 96));
        (o.Normalization, o.Cache, o.CacheDir, o.Prefetch, o.Augment, o.Balance, o.CanonicalOrientation, o.MultiPlanar)
            .ShouldBe((GreenSeg.Transforms.IntensityNormalization.Percentile, GreenSeg.Data.CacheMode.Disk, "c", 3, false, BalanceMode.Stack, true, 0.5));
        o.Augmentation.SyntheticContrastProbability.ShouldBe(0.4);
        (o.Model, o.ModelWidth, o.Precision, o.ChannelsLast, o.Threads, o.Device).ShouldBe(("micronet", (int?)8, "fp32", false, 1, "cpu"));
        (o.Loss, o.Optimizer, o.LearningRate, o.LrPolicy, o.WeightDecay, o.Momentum, o.Nesterov, o.GradAveraging, o.AmsGrad, o.GradClip)
            .ShouldBe(("dice", "sgd", "2e-3", "cosine", 0.01, 0.8, true, true, true, 2.0));
        (o.BatchSize, o.MemoryLimitMb, o.Epochs, o.LrFinderSteps, o.EarlyStoppingPatience, o.EarlyStoppingMinDelta, o.SelectBestBy, o.PostprocessValidation)
            .ShouldBe(("4", 100, 9, 30, 4, 0.01, SelectionMetric.Loss, false));
        (o.EnergyBudget, o.GreenStopDicePerKj, o.GreenStopWindow, o.CpuTdp, o.Country, o.CarbonIntensity, o.Pue)
            .ShouldBe(("5kJ", (double?)0.02, 5, (double?)65, "POL", (double?)700, 1.3));
    }

    [Fact]
    public void Every_option_is_reachable_from_yaml_and_from_a_study_setting()
    {
        var o = EveryFlag().Resolve();
        string yaml = o.ToYaml();
        TrainingOptions.Parse(yaml, "round trip").ToYaml().ShouldBe(yaml);

        // Each top-level value of that config, set one key at a time on the defaults (as a study's set: does), reads back the same.
        var scalars = Scalars(yaml);
        scalars.Keys.ShouldBe(GreenSeg.Studies.OptionOverrides.Keys.Where(k => k is not ("augmentation" or "lr-schedule" or "loss-settings")), ignoreOrder: true);
        var viaSettings = GreenSeg.Studies.OptionOverrides.Apply(new TrainingOptions(),
            scalars.Select(kv => new GreenSeg.Studies.OptionSetting(kv.Key, kv.Value)), "test");
        Scalars(viaSettings.ToYaml()).ShouldBe(scalars);
    }

    private static Dictionary<string, string?> Scalars(string yaml)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(yaml));
        return ((YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents[0].RootNode).Children
            .Where(kv => kv.Value is YamlDotNet.RepresentationModel.YamlScalarNode || kv.Value is YamlDotNet.RepresentationModel.YamlSequenceNode { Children.Count: 0 })
            .ToDictionary(kv => ((YamlDotNet.RepresentationModel.YamlScalarNode)kv.Key).Value!,
                kv => (kv.Value as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value is { Length: > 0 } value ? value : null);
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
            .ShouldBe(("unet", 64, "fp32", false, GreenSeg.Data.CacheMode.None, 0, "adam", "fixed"));
        var green = new TrainSettings { Data = "d" }.Resolve();
        (green.Model, green.ModelWidth, green.Precision, green.ChannelsLast, green.Cache, green.Optimizer, green.LearningRate, green.Size, green.Spacing, green.Epochs)
            .ShouldBe(("unet", 16, "auto", true, GreenSeg.Data.CacheMode.Memory, "adam", "1e-3", 128, 2.0, 25));
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
