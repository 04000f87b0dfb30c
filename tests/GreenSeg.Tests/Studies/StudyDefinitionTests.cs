using GreenSeg.Training.Schedules;
using GreenSeg.Training.Optimizers;
using GreenSeg.Tests.Training;
using GreenSeg.Data;
using GreenSeg.Common;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Studies;

public class StudyDefinitionTests
{
    private const string Source = "/studies/mine.yaml";

    private static StudyDefinition Parse(string yaml) => StudyDefinitionParser.Parse(yaml, Source, "mine");

    [Fact]
    public void Reads_every_section()
    {
        var definition = Parse("""
            name: demo
            description: two runs
            base: green
            baseline-run: slow
            split: { seed: 7, validation-fraction: 0.25 }
            budget: { epochs: 3, energy: 20kJ }
            set: { size: 64, model-width: ~ }
            runs:
              - name: slow
                set: { precision: fp32 }
              - name: fast
            matrix:
              seed: [1, 2]
            """);
        definition.Name.ShouldBe("demo");
        definition.Description.ShouldBe("two runs");
        definition.Source.ShouldBe(Source);
        definition.Base.ShouldBe(StudyBase.Green);
        definition.BaselineRun.ShouldBe("slow");
        definition.SplitSeed.ShouldBe(7);
        definition.ValidationFraction.ShouldBe(0.25);
        definition.Epochs.ShouldBe(3);
        definition.EnergyBudget.ShouldBe("20kJ");
        definition.Common.ShouldBe([new OptionSetting("size", "64"), new OptionSetting("model-width", null)]);
        definition.Runs.Select(r => r.Name).ShouldBe(["slow", "fast"]);
        definition.Runs[0].Settings.ShouldBe([new OptionSetting("precision", "fp32")]);
        definition.Runs[1].Settings.ShouldBeEmpty();
        var axis = definition.Matrix.ShouldHaveSingleItem();
        axis.Key.ShouldBe("seed");
        axis.Values.ShouldBe(["1", "2"]);
    }

    [Fact]
    public void The_name_defaults_to_the_given_one_and_the_base_to_the_baseline()
    {
        var definition = Parse("runs: [{ name: only }]");
        definition.Name.ShouldBe("mine");
        definition.Base.ShouldBe(StudyBase.Baseline);
        definition.Epochs.ShouldBeNull();
    }

    [Theory]
    [InlineData("runs: [{ name: a }]\nbudjet: { epochs: 2 }", "line 2: unknown key 'budjet' in the study")]
    [InlineData("runs: [{ name: a, set: { learning-rat: 1 } }]", "unknown training option 'learning-rat' in run 'a'")]
    [InlineData("set: { cache-mode: memory }\nruns: [{ name: a }]", "line 1: unknown training option 'cache-mode' in set")]
    [InlineData("matrix: { optimiser: [adam] }", "unknown training option 'optimiser' in matrix")]
    [InlineData("runs: [{ name: a, sett: {} }]", "unknown key 'sett' in a run")]
    [InlineData("split: { seeds: 3 }\nruns: [{ name: a }]", "unknown key 'seeds' in split")]
    [InlineData("budget: { epoch: 3 }\nruns: [{ name: a }]", "unknown key 'epoch' in budget")]
    public void An_unknown_key_is_named_with_the_file_and_line(string yaml, string expected)
    {
        var error = Should.Throw<InvalidInputException>(() => Parse(yaml));
        error.Path.ShouldBe(Source);
        error.Message.ShouldStartWith(Source + ": ");
        error.Message.ShouldContain(expected);
    }

    [Theory]
    [InlineData("name: x", "no runs")]
    [InlineData("runs: [{ name: a }, { name: a }]", "two runs are named 'a'")]
    [InlineData("runs: [{ name: 'a/b' }]", "run name 'a/b'")]
    [InlineData("runs: [{ set: { cache: memory } }]", "a run needs a name")]
    [InlineData("runs: [{ name: a, set: { data: /elsewhere } }]", "'data' cannot be set in run 'a'")]
    [InlineData("matrix: { validation-fraction: [0.1, 0.2] }", "'validation-fraction' cannot be set in matrix")]
    [InlineData("matrix: { seed: [] }", "matrix.seed must be a non-empty list")]
    [InlineData("matrix: { seed: [1, 1] }", "lists a value twice")]
    [InlineData("base: fancy\nruns: [{ name: a }]", "base 'fancy'")]
    [InlineData("split: { validation-fraction: 1.5 }\nruns: [{ name: a }]", "must lie in (0, 1)")]
    [InlineData("budget: { epochs: 0 }\nruns: [{ name: a }]", "at least 1")]
    [InlineData("budget: { energy: 5 potatoes }\nruns: [{ name: a }]", "budget.energy '5 potatoes'")]
    [InlineData("runs: [{ name: a }]\n  bad: [", "not valid YAML")]
    [InlineData("- just\n- a list", "must be a mapping")]
    public void Malformed_studies_are_refused_with_the_reason(string yaml, string expected)
    {
        Should.Throw<InvalidInputException>(() => Parse(yaml)).Message.ShouldContain(expected);
    }

    [Fact]
    public void Loading_a_missing_file_names_it()
    {
        string path = Path.Combine(Path.GetTempPath(), "greenseg-no-such-study.yaml");
        Should.Throw<InvalidInputException>(() => StudyDefinitionParser.Load(path)).Path.ShouldBe(path);
        Should.Throw<InvalidInputException>(() => StudyPresets.Resolve(path)).Message.ShouldContain("study file not found");
        Should.Throw<GreenSegException>(() => StudyPresets.Resolve("no-such-preset")).Message.ShouldContain("techniques");
    }

    [Fact]
    public void A_study_file_is_read_from_disk_and_named_after_it()
    {
        string path = Path.Combine(Path.GetTempPath(), $"greenseg-study-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "runs: [{ name: a }]\nbudjet: 1\n");
        try
        {
            var error = Should.Throw<InvalidInputException>(() => StudyPresets.Resolve(path));
            error.Path.ShouldBe(path);
            error.Message.ShouldContain("'budjet'");
            File.WriteAllText(path, "runs: [{ name: a }]\n");
            StudyPresets.Resolve(path).Name.ShouldBe(Path.GetFileNameWithoutExtension(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_presets_ship_and_expand()
    {
        StudyPresets.Names.ShouldBe(["architectures", "compression", "quick", "techniques"]);
        foreach (string name in StudyPresets.Names)
        {
            var plan = StudyPlanner.Expand(StudyPresets.Load(name), "/data/e2mip");
            plan.Runs.ShouldNotBeEmpty();
            plan.Runs.ShouldAllBe(r => r.Options.Data == Path.GetFullPath("/data/e2mip"));
            plan.Runs.Select(r => (r.Options.SplitSeed, r.Options.ValidationFraction)).Distinct().Count().ShouldBe(1, $"{name}: one split for all runs");
        }
    }

    [Fact]
    public void The_techniques_preset_adds_each_technique_alone_then_all_together()
    {
        var plan = StudyPlanner.Expand(StudyPresets.Load("techniques"), "/data");
        plan.BaselineRun.ShouldBe("baseline");
        plan.Runs.Select(r => r.Name).ShouldBe(
            ["baseline", "+cache", "+prefetch", "+novograd", "+lr-finder", "+bf16-mixed", "+channels-last", "+light-architecture", "green"]);

        // The baseline is the study's: TrainingOptions.Baseline with only the budget (and stated input size) changed.
        var baseline = plan["baseline"].Options;
        var reference = TrainingOptions.Baseline(baseline.Data);
        baseline.Model.ShouldBe(reference.Model);
        baseline.Compute.Precision.ShouldBe(PrecisionChoice.Fp32);
        baseline.Compute.ChannelsLast.ShouldBeFalse();
        baseline.Loading.Cache.ShouldBe(CacheMode.None);
        baseline.Loading.Prefetch.ShouldBe(0);
        baseline.Optimisation.Optimizer.ShouldBe(OptimizerKind.Adam);
        baseline.Optimisation.LearningRateIsAuto.ShouldBeFalse();
        baseline.Schedule.LrPolicy.ShouldBe(LrPolicyKind.Fixed);
        plan["baseline"].Changes.ShouldBeEmpty();

        // Each technique run differs from the baseline in exactly the option(s) of its technique.
        plan["+cache"].Options.ShouldBe(baseline.WithLoading(l => l with { Cache = CacheMode.Memory }));
        plan["+prefetch"].Options.ShouldBe(baseline.WithLoading(l => l with { Prefetch = 2 }));
        plan["+novograd"].Options.ShouldBe(baseline.WithOptimisation(o => o with { Optimizer = OptimizerKind.Novograd }));
        plan["+lr-finder"].Options.ShouldBe(baseline.WithOptimisation(o => o with { LearningRate = "auto" }));
        plan["+bf16-mixed"].Options.ShouldBe(baseline.WithCompute(c => c with { Precision = PrecisionChoice.Bf16Mixed }));
        plan["+channels-last"].Options.ShouldBe(baseline.WithCompute(c => c with { ChannelsLast = true }));
        plan["+light-architecture"].Options.ShouldBe(baseline with { Model = "att-squeeze-unet", ModelWidth = null });

        // All together is the study's green recipe, with bf16 as the technique it measures, on the same data, split and budget.
        var green = TrainingOptions.StudyGreen(baseline.Data).WithCompute(c => c with { Precision = PrecisionChoice.Bf16Mixed });
        plan["green"].Options.ShouldBe(green with
        {
            Data = baseline.Data, SplitSeed = baseline.SplitSeed, ValidationFraction = baseline.ValidationFraction,
            Schedule = green.Schedule with { Epochs = baseline.Schedule.Epochs, LrFinderSteps = baseline.Schedule.LrFinderSteps },
            Preprocessing = green.Preprocessing with { Size = baseline.Preprocessing.Size, Spacing = baseline.Preprocessing.Spacing },
        });
    }

    [Fact]
    public void The_study_recipes_are_the_papers_the_last_steps_weights_while_the_default_averages_them()
    {
        TrainingOptions.Baseline("/data").Optimisation.EmaDecay.ShouldBe(0);
        TrainingOptions.StudyGreen("/data").Optimisation.EmaDecay.ShouldBe(0);
        new TrainingOptions { Data = "/data" }.Optimisation.EmaDecay.ShouldBe(0.995);
        var plan = StudyPlanner.Expand(StudyPresets.Load("techniques"), "/data");
        plan.Runs.ShouldAllBe(r => r.Options.Optimisation.EmaDecay == 0);
    }

    [Fact]
    public void The_study_recipes_normalise_by_z_score_as_the_paper_while_the_default_scales_by_percentiles()
    {
        TrainingOptions.Baseline("/data").Preprocessing.Normalization.ShouldBe(IntensityNormalization.ZScoreNonzero);
        TrainingOptions.StudyGreen("/data").Preprocessing.Normalization.ShouldBe(IntensityNormalization.ZScoreNonzero);
        new TrainingOptions { Data = "/data" }.Preprocessing.Normalization.ShouldBe(IntensityNormalization.Percentile);
        var plan = StudyPlanner.Expand(StudyPresets.Load("techniques"), "/data");
        plan.Runs.ShouldAllBe(r => r.Options.Preprocessing.Normalization == IntensityNormalization.ZScoreNonzero);
    }

    [Fact]
    public void The_architectures_preset_trains_every_model_of_the_zoo_with_the_green_recipe()
    {
        var plan = StudyPlanner.Expand(StudyPresets.Load("architectures"), "/data");
        plan.Runs.Select(r => r.Options.Model).ShouldBe(ModelRegistry.Names);
        var green = TrainingOptions.StudyGreen("/data");
        plan.Runs.ShouldAllBe(r => r.Options.Compute.Precision == green.Compute.Precision && r.Options.Optimisation.Optimizer == green.Optimisation.Optimizer
            && r.Options.Loading.Cache == green.Loading.Cache && r.Options.Compute.ChannelsLast && r.Options.Optimisation.LearningRateIsAuto && r.Options.ModelWidth == null);
    }
}
