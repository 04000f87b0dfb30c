using System.ComponentModel;
using System.Reflection;
using GreenSeg.Cli.Commands;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Studies;
using GreenSeg.Training;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using GreenSeg.Transforms;
using Spectre.Console.Cli;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Tests.Cli;

public sealed class TrainSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greenseg-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("data: /somewhere\nmodel: unet\nepochs: 7\npue: 1.4\nlearning-rate: 1e-4\n")]
    [InlineData("data: /somewhere\nmodel: unet\nschedule:\n  epochs: 7\nenergy:\n  pue: 1.4\noptimisation:\n  learning-rate: 1e-4\n")]
    public void GivenFlagsOverrideTheConfigAndUngivenOnesLeaveIt(string yaml)
    {
        string config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(config, yaml);

        var options = new TrainSettings { Config = config, Epochs = 3, Optimizer = OptimizerKind.Lion }.Resolve();

        options.Data.ShouldBe("/somewhere");
        options.Model.ShouldBe("unet");
        options.Schedule.Epochs.ShouldBe(3);
        options.Optimisation.Optimizer.ShouldBe(OptimizerKind.Lion);
        options.Optimisation.LearningRate.ShouldBe("1e-4");
        options.Energy.Pue.ShouldBe(1.4);
    }

    /// <summary>Every recipe flag given, each with a value other than its default.</summary>
    private static TrainSettings EveryFlag() => new()
    {
            Data = "d", ValidationData = "v", ValidationFraction = 0.3, Final = true, Seed = 5, SplitSeed = 6, Spacing = 1.5, Size = 96,
            Normalization = IntensityNormalization.Percentile, Cache = CacheMode.Disk, CacheDir = "c", Prefetch = 3, Augment = false,
            Balance = BalanceMode.Stack, CanonicalOrientation = true, MultiPlanar = 0.5, SyntheticContrast = 0.4, Model = "attention-unet", ModelWidth = 8, FirstStageWidth = 4,
            Precision = PrecisionChoice.Fp32, ChannelsLast = false, Threads = 1, Device = "cpu", Loss = LossKind.Dice, Optimizer = OptimizerKind.Sgd,
            LearningRate = "2e-3", LrPolicy = LrPolicyKind.OneCycle, WeightDecay = 0.01, Momentum = 0.8, Nesterov = true, GradAveraging = true,
            AmsGrad = true, GradClip = 2, EmaDecay = 0.99, BatchSize = "4", MemoryLimitMb = 100, Epochs = 9, LrFinderSteps = 30, EarlyStoppingPatience = 4,
            EarlyStoppingMinDelta = 0.01, SelectBestBy = SelectionMetric.Loss, PostprocessValidation = false, EnergyBudget = "5kJ",
            Components = GreenSeg.Transforms.ComponentSelection.Large, MinComponentShare = 0.2, GreenStopDicePerKj = 0.02, GreenStopWindow = 5, DistillFrom = "teacher", DistillWeight = 0.3, DistillTemperature = 4,
            Distributed = DistributedMode.Mpi, GradCompression = GradCompression.Int8, SyncEvery = 4, SyncBatchNorm = true, CollectiveTimeout = 30, CpuTdp = 65, Country = "POL", CarbonIntensity = 700, Pue = 1.3,
            Set = ["augmentation.max-scale=1.4"],
    };

    /// <summary>The flags of <c>greenseg train</c> that are training options (not where options come from or where the run goes).</summary>
    private static IEnumerable<PropertyInfo> RecipeFlags() => typeof(TrainSettings).GetProperties()
        .Where(p => p.GetCustomAttribute<CommandOptionAttribute>() is not null)
        .Where(p => p.Name is not (nameof(TrainSettings.Config) or nameof(TrainSettings.Baseline) or nameof(TrainSettings.StudyGreen) or nameof(TrainSettings.Resume)
            or nameof(TrainSettings.RunFolder) or nameof(TrainSettings.Gpus)));

    [Fact]
    public void Every_recipe_flag_reaches_its_option()
    {
        var settings = EveryFlag();
        // The test gives every flag, and each given flag is one setting of its own key.
        foreach (var flag in RecipeFlags())
            flag.GetValue(settings).ShouldNotBe(flag.PropertyType.IsValueType ? Activator.CreateInstance(flag.PropertyType) : null, flag.Name);
        settings.Settings().Count.ShouldBe(RecipeFlags().Count());
        settings.Settings().Select(s => TrainingOptionKeys.Resolve(s.Key)).ShouldAllBe(path => path != null);
        settings.Settings().Select(s => TrainingOptionKeys.Resolve(s.Key)).ShouldBeUnique();

        var o = settings.Resolve();

        (o.Data, o.ValidationData, o.ValidationFraction, o.Final, o.Seed, o.SplitSeed, o.Model, o.ModelWidth, o.FirstStageWidth)
            .ShouldBe(("d", "v", 0.3, true, 5, (int?)6, "attention-unet", (int?)8, (int?)4));
        o.Preprocessing.ShouldBe(new PreprocessingSection { Spacing = 1.5, Size = 96, Normalization = IntensityNormalization.Percentile, CanonicalOrientation = true });
        o.Loading.ShouldBe(new LoadingSection
        {
            Cache = CacheMode.Disk, CacheDir = "c", Prefetch = 3, Augment = false, Balance = BalanceMode.Stack, MultiPlanar = 0.5,
            Augmentation = new AugmentationOptions { SyntheticContrastProbability = 0.4, MaxScale = 1.4 },
        });
        o.Compute.ShouldBe(new ComputeSection { Precision = PrecisionChoice.Fp32, ChannelsLast = false, Threads = 1, Device = "cpu" });
        o.Optimisation.ShouldBe(new OptimisationSection
        {
            Loss = LossKind.Dice, Optimizer = OptimizerKind.Sgd, LearningRate = "2e-3", WeightDecay = 0.01, Momentum = 0.8, Nesterov = true,
            GradAveraging = true, AmsGrad = true, GradClip = 2, EmaDecay = 0.99, BatchSize = "4", MemoryLimitMb = 100,
        });
        o.Schedule.ShouldBe(new ScheduleSection { Epochs = 9, LrPolicy = LrPolicyKind.OneCycle, LrFinderSteps = 30 });
        o.Stopping.ShouldBe(new StoppingSection
        {
            EarlyStoppingPatience = 4, EarlyStoppingMinDelta = 0.01, SelectBestBy = SelectionMetric.Loss, PostprocessValidation = false,
            EnergyBudget = "5kJ", GreenStopDicePerKj = 0.02, GreenStopWindow = 5,
        });
        o.Postprocessing.ShouldBe(new PostprocessingSection { Components = GreenSeg.Transforms.ComponentSelection.Large, MinComponentShare = 0.2 });
        o.Distillation.ShouldBe(new DistillationSection { DistillFrom = "teacher", DistillWeight = 0.3, DistillTemperature = 4 });
        o.Parallel.ShouldBe(new ParallelSection { Distributed = DistributedMode.Mpi, GradCompression = GradCompression.Int8, SyncEvery = 4, SyncBatchNorm = true, CollectiveTimeout = 30 });
        o.Energy.ShouldBe(new GreenSeg.Energy.EnergyOptions { CpuTdpWatts = 65, Country = "POL", CarbonIntensity = 700, Pue = 1.3 });
    }

    [Fact]
    public void Every_option_is_reachable_from_yaml_and_from_a_study_setting()
    {
        var o = EveryFlag().Resolve();
        string yaml = o.ToYaml();
        TrainingOptions.Parse(yaml, "round trip").ToYaml().ShouldBe(yaml);

        // Every single option of that config, at any depth, by its dotted path.
        var scalars = Scalars(yaml);
        scalars.Keys.ShouldBe(TrainingOptionKeys.Paths, ignoreOrder: true);
        scalars.Keys.ShouldContain("optimisation.learning-rate");
        scalars.Keys.ShouldContain("loading.augmentation.synthetic-contrast-probability");

        // Set one key at a time on the defaults (as a study's set: does), by dotted path, reads back the same.
        var byPath = OptionOverrides.Apply(new TrainingOptions(), scalars.Select(kv => new OptionSetting(kv.Key, kv.Value)), "test");
        Scalars(byPath.ToYaml()).ShouldBe(scalars);

        // And by a section's key alone (learning-rate, epochs, pue...), as configs and studies wrote them before the sections.
        var byShortKey = OptionOverrides.Apply(new TrainingOptions(),
            scalars.Select(kv => new OptionSetting(kv.Key.Count(c => c == '.') == 1 ? kv.Key[(kv.Key.IndexOf('.') + 1)..] : kv.Key, kv.Value)), "test");
        Scalars(byShortKey.ToYaml()).ShouldBe(scalars);
        OptionOverrides.Keys.ShouldBe(scalars.Keys.Where(k => k.Count(c => c == '.') <= 1).Select(k => k[(k.IndexOf('.') + 1)..]), ignoreOrder: true);
    }

    /// <summary>Every scalar (and empty list) of a config, by its dotted path.</summary>
    private static Dictionary<string, string?> Scalars(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var scalars = new Dictionary<string, string?>();
        void Walk(YamlMappingNode mapping, string prefix)
        {
            foreach (var (key, value) in mapping.Children)
            {
                string path = prefix + ((YamlScalarNode)key).Value;
                if (value is YamlMappingNode inner) Walk(inner, path + ".");
                else if (value is YamlScalarNode or YamlSequenceNode { Children.Count: 0 })
                    scalars[path] = (value as YamlScalarNode)?.Value is { Length: > 0 } text ? text : null;
            }
        }
        Walk((YamlMappingNode)stream.Documents[0].RootNode, "");
        return scalars;
    }

    [Fact]
    public void SyntheticContrastFlagSetsTheAugmentationProbabilityAndKeepsTheRestOfTheSection()
    {
        string config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(config, "data: /somewhere\naugmentation:\n  synthetic-contrast-probability: 0.2\n  synthetic-contrast-classes: 8\n");

        new TrainSettings { Config = config }.Resolve().Loading.Augmentation.SyntheticContrastProbability.ShouldBe(0.2);
        var options = new TrainSettings { Config = config, SyntheticContrast = 0.7 }.Resolve();

        options.Loading.Augmentation.SyntheticContrastProbability.ShouldBe(0.7);
        options.Loading.Augmentation.SyntheticContrastClasses.ShouldBe(8);
        new TrainSettings().Resolve().Loading.Augmentation.SyntheticContrastProbability.ShouldBe(0);
    }

    [Fact]
    public void Set_reaches_nested_options_wins_over_the_config_and_names_an_unknown_key()
    {
        string config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(config, "data: d\nloading:\n  augmentation:\n    max-scale: 1.2\n    min-scale: 0.9\n");

        var options = new TrainSettings { Config = config, Set = ["augmentation.max-scale=1.4", "augmentation.bias-field-probability=0.5"] }.Resolve();

        options.Loading.Augmentation.MaxScale.ShouldBe(1.4);
        options.Loading.Augmentation.MinScale.ShouldBe(0.9);
        options.Loading.Augmentation.BiasFieldProbability.ShouldBe(0.5);
        Should.Throw<GreenSegException>(() => new TrainSettings { Set = ["augmentation.max-scael=1.4"] }.Settings()).Message.ShouldContain("max-scael");
        Should.Throw<GreenSegException>(() => new TrainSettings { Set = ["max-scale"] }.Settings()).Message.ShouldContain("KEY=VALUE");
    }

    [Fact]
    public void The_pue_flag_overrides_only_when_it_differs_from_its_default_and_the_orientation_switch_only_turns_on()
    {
        string config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(config, "data: d\nenergy:\n  pue: 1.5\npreprocessing:\n  canonical-orientation: true\n");

        var options = new TrainSettings { Config = config }.Resolve();
        (options.Energy.Pue, options.Preprocessing.CanonicalOrientation).ShouldBe((1.5, true));
        new TrainSettings { Config = config, Pue = 1.2 }.Resolve().Energy.Pue.ShouldBe(1.2);
        new TrainSettings { CanonicalOrientation = true }.Resolve().Preprocessing.CanonicalOrientation.ShouldBeTrue();
        new TrainSettings().Settings().ShouldBeEmpty();
    }

    [Fact]
    public void BaselineAndStudyGreenAreTheStudysRecipesAndTheDefaultIsTodays()
    {
        var baseline = new TrainSettings { Baseline = true, Data = "d" }.Resolve();
        (baseline.Model, baseline.ModelWidth, baseline.Compute.Precision, baseline.Compute.ChannelsLast, baseline.Loading.Cache, baseline.Loading.Prefetch,
                baseline.Optimisation.Optimizer, baseline.Schedule.LrPolicy)
            .ShouldBe(("unet", (int?)64, PrecisionChoice.Fp32, false, CacheMode.None, 0, OptimizerKind.Adam, LrPolicyKind.Fixed));
        var today = new TrainSettings { Data = "d" }.Resolve();
        (today.Model, today.ModelWidth, today.Compute.Precision, today.Compute.ChannelsLast, today.Loading.Cache, today.Optimisation.Optimizer,
                today.Optimisation.LearningRate, today.Preprocessing.Size, today.Preprocessing.Spacing, today.Schedule.Epochs)
            .ShouldBe(("unet", (int?)16, PrecisionChoice.Auto, true, CacheMode.Memory, OptimizerKind.Adam, "1e-3", 128, 2.0, 25));
        today.Loading.Prefetch.ShouldBeGreaterThan(0);
        // The study's green recipe, with a flag on top as any base takes it.
        var green = new TrainSettings { StudyGreen = true, Data = "d", Epochs = 30 }.Resolve();
        (green.Model, green.ModelWidth, green.Preprocessing.Size, green.Preprocessing.Spacing, green.Preprocessing.Normalization,
                green.Optimisation.Optimizer, green.Optimisation.LearningRate, green.Optimisation.EmaDecay, green.Schedule.Epochs)
            .ShouldBe(("att-squeeze-unet", (int?)null, 256, 1.0, IntensityNormalization.ZScoreNonzero, OptimizerKind.Novograd, "auto", 0.0, 30));
        new TrainSettings { StudyGreen = true, Data = "d" }.Resolve().Schedule.Epochs.ShouldBe(40);
    }

    [Fact]
    public void OnlyOneRecipeToStartFromMayBeGiven()
    {
        string config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(config, "data: d\n");
        Should.Throw<GreenSegException>(() => new TrainSettings { Baseline = true, StudyGreen = true }.Resolve())
            .Message.ShouldContain("--baseline and --study-green each give the recipe to start from");
        Should.Throw<GreenSegException>(() => new TrainSettings { Config = config, StudyGreen = true }.Resolve())
            .Message.ShouldContain("--config and --study-green");
    }

    [Fact]
    public void AnUnknownConfigKeyIsAClearErrorNamingTheFile()
    {
        string config = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(config, "data: x\nlearnig-rate: 3\n");
        var error = Should.Throw<InvalidInputException>(() => new TrainSettings { Config = config }.Resolve());
        error.Path.ShouldBe(config);
        error.Problem.ShouldContain("line 2");
    }

    public static TheoryData<Type> Choices => [typeof(LossKind), typeof(OptimizerKind), typeof(LrPolicyKind), typeof(PrecisionChoice),
        typeof(CacheMode), typeof(BalanceMode), typeof(SelectionMetric), typeof(IntensityNormalization)];

    [Theory]
    [MemberData(nameof(Choices))]
    public void Every_choice_round_trips_through_its_cli_converter_by_its_config_name(Type choice)
    {
        var converter = (TypeConverter)Activator.CreateInstance(typeof(ChoiceConverter<>).MakeGenericType(choice))!;
        foreach (Enum value in Enum.GetValues(choice))
        {
            string name = ChoiceNames.Name(value);
            converter.ConvertFrom(name).ShouldBe(value);
            converter.ConvertFrom(name.ToUpperInvariant()).ShouldBe(value);
            converter.ConvertTo(value, typeof(string)).ShouldBe(name);
        }
        Should.Throw<UnknownChoiceException>(() => converter.ConvertFrom("no-such-choice")).Message.ShouldContain(string.Join(", ", ChoiceNames.Names(choice)));
    }

    [Fact]
    public void The_converters_name_the_hyphenated_choices_and_keep_the_older_spellings()
    {
        new ChoiceConverter<LrPolicyKind>().ConvertFrom("one-cycle").ShouldBe(LrPolicyKind.OneCycle);
        new ChoiceConverter<LrPolicyKind>().ConvertFrom("onecycle").ShouldBe(LrPolicyKind.OneCycle);
        new ChoiceConverter<PrecisionChoice>().ConvertFrom("bf16").ShouldBe(PrecisionChoice.Bf16Mixed);
        new ChoiceConverter<PrecisionChoice>().ConvertFrom("fp16").ShouldBe(PrecisionChoice.Fp16Mixed);
        new ChoiceConverter<LossKind>().ConvertFrom("dice-bce").ShouldBe(LossKind.DiceBce);
        new ChoiceConverter<OptimizerKind>().ConvertFrom("adamw").ShouldBe(OptimizerKind.AdamW);
        Should.Throw<UnknownChoiceException>(() => new ChoiceConverter<LossKind>().ConvertFrom("1"));
    }
}

/// <summary>The choice flags as greenseg itself parses them.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class ChoiceFlagTests
{
    [Fact]
    public void Hyphenated_choices_parse_on_the_command_line()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"greenseg-no-data-{Guid.NewGuid():N}");
        var (exitCode, output) = CliRunner.Run("train", "--data", missing, "--out", Path.Combine(missing, "run"),
            "--lr-policy", "one-cycle", "--precision", "bf16", "--loss", "dice-bce", "--optimizer", "adamw", "--cache", "none", "--select-best-by", "loss");

        // It gets as far as reading the data.
        exitCode.ShouldBe(3, output);
        output.ShouldContain(missing);
    }

    [Fact]
    public void Every_choice_flags_default_is_spelt_as_the_flag_accepts_it_and_matches_its_initial_value()
    {
        // Help prints a DefaultValue as it is: an enum value would show its C# name (LeftRight), which is not what the
        // flag's ChoiceConverter documents (left-right). Spectre reads the string back through the converter.
        var checkedFlags = new List<string>();
        foreach (var settings in typeof(GreenSeg.Cli.CliErrors).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(CommandSettings)) && !t.IsAbstract))
            foreach (var property in settings.GetProperties())
            {
                var converterType = property.GetCustomAttribute<TypeConverterAttribute>()?.ConverterTypeName is { } name ? Type.GetType(name) : null;
                var fallback = property.GetCustomAttribute<DefaultValueAttribute>();
                if (converterType is null || !converterType.IsGenericType || converterType.GetGenericTypeDefinition() != typeof(ChoiceConverter<>) || fallback is null) continue;
                var converter = (TypeConverter)Activator.CreateInstance(converterType)!;
                fallback.Value.ShouldBeOfType<string>($"{settings.Name}.{property.Name}");
                var initial = property.GetValue(Activator.CreateInstance(settings));
                converter.ConvertFrom(fallback.Value!).ShouldBe(initial, $"{settings.Name}.{property.Name}");
                checkedFlags.Add($"{settings.Name}.{property.Name}");
            }
        checkedFlags.ShouldContain("SegmentSettings.Tta");
        checkedFlags.ShouldContain("CrossvalSettings.Views");
    }

    [Fact]
    public void A_bad_choice_on_the_command_line_lists_the_names()
    {
        var (exitCode, output) = CliRunner.Run("train", "--data", "d", "--lr-policy", "step");

        exitCode.ShouldBe(GreenSeg.Cli.CliErrors.UsageError);
        output.ShouldContain("'step' is not one of fixed, plateau, cosine, one-cycle");
    }
}
