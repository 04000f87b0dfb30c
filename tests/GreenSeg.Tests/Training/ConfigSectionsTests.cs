using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using GreenSeg.Transforms;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Tests.Training;

/// <summary>The config's sections, the flat configs written before them, and the closed choices' names.</summary>
public class ConfigSectionsTests
{
    /// <summary>Options with a value other than the default in every section.</summary>
    private static TrainingOptions Changed() => new TrainingOptions { Data = "/data", Model = "micronet", Stacks = ["DWI_vol0000"] }
        .WithPreprocessing(p => p with { Size = 96, Normalization = IntensityNormalization.Percentile })
        .WithLoading(l => l with { Cache = CacheMode.Disk, Balance = BalanceMode.Sequence, Augmentation = l.Augmentation with { ShiftProbability = 0.5 } })
        .WithCompute(c => c with { Precision = PrecisionChoice.Bf16Mixed, Threads = 2 })
        .WithOptimisation(o => o with { Loss = LossKind.Focal, Optimizer = OptimizerKind.Novograd, LearningRate = "auto", LossSettings = o.LossSettings with { FocalGamma = 3 } })
        .WithSchedule(s => s with { Epochs = 7, LrPolicy = LrPolicyKind.OneCycle, LrSchedule = s.LrSchedule with { OneCyclePctStart = 0.2 } })
        .WithStopping(s => s with { EarlyStoppingPatience = 3, EnergyBudget = "5kJ" })
        with { Energy = new GreenSeg.Energy.EnergyOptions { Country = "POL", Pue = 1.2 } };

    /// <summary>A config as GreenSeg wrote it before the sections: every section's keys at the top level.</summary>
    internal static string Flat(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var flat = new YamlMappingNode();
        foreach (var (key, value) in root.Children)
        {
            if (value is YamlMappingNode section)
                foreach (var (innerKey, innerValue) in section.Children) flat.Children.Add(innerKey, innerValue);
            else
                flat.Children.Add(key, value);
        }
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(flat)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    [Fact]
    public void An_old_flat_config_loads_to_the_same_options_as_its_sectioned_form()
    {
        string sectioned = Changed().ToYaml();
        string flat = Flat(sectioned);
        flat.ShouldContain("\nepochs: 7\n");
        flat.ShouldContain("\nlearning-rate: auto\n");
        flat.ShouldContain("\naugmentation:\n");

        TrainingOptions.Parse(flat, "flat.yaml").ToYaml().ShouldBe(sectioned);
        TrainingOptions.Parse(sectioned, "sectioned.yaml").ToYaml().ShouldBe(sectioned);
    }

    [Fact]
    public void A_hand_written_flat_config_and_a_mixed_one_read_as_the_sectioned_one()
    {
        const string flat = """
            data: d
            epochs: 7
            learning-rate: 1e-4
            precision: bf16
            lr-policy: onecycle
            augmentation:
              shift-probability: 0.5
            pue: 1.3
            """;
        const string mixed = """
            data: d
            schedule:
              lr-policy: one-cycle
            epochs: 7
            optimisation:
              learning-rate: 1e-4
            precision: bf16-mixed
            loading:
            augmentation:
              shift-probability: 0.5
            energy:
              pue: 1.3
            """;
        var expected = new TrainingOptions { Data = "d" }
            .WithSchedule(s => s with { Epochs = 7, LrPolicy = LrPolicyKind.OneCycle })
            .WithOptimisation(o => o with { LearningRate = "1e-4" })
            .WithCompute(c => c with { Precision = PrecisionChoice.Bf16Mixed })
            .WithLoading(l => l with { Augmentation = l.Augmentation with { ShiftProbability = 0.5 } })
            with { Energy = new GreenSeg.Energy.EnergyOptions { Pue = 1.3 } };

        TrainingOptions.Parse(flat, "flat.yaml").ToYaml().ShouldBe(expected.ToYaml());
        TrainingOptions.Parse(mixed, "mixed.yaml").ToYaml().ShouldBe(expected.ToYaml());
        expected.ToYaml().ShouldContain("\n  lr-policy: one-cycle\n");
        expected.ToYaml().ShouldContain("\n  precision: bf16-mixed\n");
    }

    [Fact]
    public void A_key_given_both_flat_and_in_its_section_is_refused_naming_it()
    {
        var error = Should.Throw<InvalidInputException>(() => TrainingOptions.Parse("data: d\nepochs: 3\nschedule:\n  epochs: 4\n", "both.yaml"));

        error.Path.ShouldBe("both.yaml");
        error.Problem.ShouldContain("'epochs'");
        error.Problem.ShouldContain("line 2");
        error.Problem.ShouldContain("line 4");
        error.Problem.ShouldContain("schedule:");
    }

    [Theory]
    [InlineData("data: d\noptimisation:\n  learnig-rate: 3\n", "line 3", "unknown option")]
    [InlineData("data: d\nloading:\n  augmentation:\n    rotation-probabilty: 1\n", "line 4", "unknown option")]
    [InlineData("data: d\nschedule:\n  learning-rate: 1e-3\n", "line 3", "belongs under optimisation:")]
    [InlineData("data: d\nepochs: 3\nschedule:\n  warmup: 4\n", "line 4", "unknown option")]
    public void An_unknown_key_in_a_section_is_refused_naming_its_line(string yaml, string line, string problem)
    {
        var error = Should.Throw<InvalidInputException>(() => TrainingOptions.Parse(yaml, "recipe.yaml"));

        error.Problem.ShouldContain(line);
        error.Problem.ShouldContain(problem);
        error.Problem.ShouldNotContain("GreenSeg.");
    }

    /// <summary>Every closed choice of the options: its dotted path and its type.</summary>
    public static TheoryData<string, Type> Choices => new()
    {
        { "preprocessing.normalization", typeof(IntensityNormalization) },
        { "loading.cache", typeof(CacheMode) },
        { "loading.balance", typeof(BalanceMode) },
        { "compute.precision", typeof(PrecisionChoice) },
        { "optimisation.loss", typeof(LossKind) },
        { "optimisation.optimizer", typeof(OptimizerKind) },
        { "schedule.lr-policy", typeof(LrPolicyKind) },
        { "stopping.select-best-by", typeof(SelectionMetric) },
    };

    [Theory]
    [MemberData(nameof(Choices))]
    public void Every_choice_round_trips_through_yaml_by_its_name(string path, Type choice)
    {
        string section = path.Split('.')[0], key = path.Split('.')[1];
        foreach (string name in ChoiceNames.Names(choice))
        {
            var options = TrainingOptions.Parse($"data: d\n{section}:\n  {key}: {name}\n", "choice.yaml");
            string yaml = options.ToYaml();
            yaml.ShouldContain($"\n  {key}: {name}\n");
            TrainingOptions.Parse(yaml, "saved").ToYaml().ShouldBe(yaml);
            // And flat, as before the sections.
            TrainingOptions.Parse($"data: d\n{key}: {name}\n", "flat.yaml").ToYaml().ShouldBe(yaml);
        }
    }

    [Theory]
    [MemberData(nameof(Choices))]
    public void A_bad_choice_is_refused_listing_the_names(string path, Type choice)
    {
        string section = path.Split('.')[0], key = path.Split('.')[1];
        var error = Should.Throw<InvalidInputException>(() => TrainingOptions.Parse($"data: d\n{section}:\n  {key}: tversky\n", "bad.yaml"));

        error.Problem.ShouldContain("line 3");
        error.Problem.ShouldContain($"{key}: tversky");
        error.Problem.ShouldContain(string.Join(", ", ChoiceNames.Names(choice)));
        Should.Throw<InvalidInputException>(() => TrainingOptions.Parse($"data: d\n{section}:\n  {key}: 1\n", "number.yaml"));
    }

    [Fact]
    public void The_key_table_comes_from_the_sections()
    {
        TrainingOptionKeys.Sections.ShouldBe(["fire-net", "preprocessing", "loading", "compute", "optimisation", "schedule", "stopping", "postprocessing", "distillation", "parallel", "energy"]);
        TrainingOptionKeys.SectionOf["learning-rate"].ShouldBe("optimisation");
        TrainingOptionKeys.SectionOf["components"].ShouldBe("postprocessing");
        TrainingOptionKeys.SectionOf["augmentation"].ShouldBe("loading");
        TrainingOptionKeys.SectionOf["cpu-tdp"].ShouldBe("energy");
        TrainingOptionKeys.SectionOf["distill-from"].ShouldBe("distillation");
        TrainingOptionKeys.SectionOf["distributed"].ShouldBe("parallel");
        TrainingOptionKeys.SectionOf["sync-every"].ShouldBe("parallel");
        TrainingOptionKeys.Resolve("epochs").ShouldBe("schedule.epochs");
        TrainingOptionKeys.Resolve("schedule.epochs").ShouldBe("schedule.epochs");
        TrainingOptionKeys.Resolve("augmentation.shift-probability").ShouldBe("loading.augmentation.shift-probability");
        TrainingOptionKeys.Resolve("data").ShouldBe("data");
        TrainingOptionKeys.Resolve("optimisation").ShouldBeNull();
        TrainingOptionKeys.Resolve("schedule.learning-rate").ShouldBeNull();
        // Keys stay unique across sections, so a flat key names one option.
        TrainingOptionKeys.ShortKeys.ShouldBeUnique();
        TrainingOptionKeys.SectionOf.Keys.Intersect(TrainingOptionKeys.ShortKeys.Where(k => !TrainingOptionKeys.SectionOf.ContainsKey(k))).ShouldBeEmpty();
        TrainingOptionKeys.Paths.ShouldNotContain(p => p.EndsWith(".gpu-indices", StringComparison.Ordinal));
    }

    [Fact]
    public void The_default_config_is_sectioned()
    {
        string yaml = new TrainingOptions { Data = "d" }.ToYaml();
        yaml.ShouldStartWith("data: d\n");
        foreach (string section in TrainingOptionKeys.Sections) yaml.ShouldContain($"\n{section}:\n");
        yaml.ShouldContain("\n  learning-rate: 1e-3\n");
        yaml.ShouldContain("\n  cpu-tdp: \n");
    }
}
