using GreenSeg.Training.Optimizers;
using GreenSeg.Models;
using GreenSeg.Data;
using GreenSeg.Common;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Training;
using CsCheck;

namespace GreenSeg.Tests.Studies;

public class StudyPlanTests
{
    private static StudyDefinition Parse(string yaml) => StudyDefinitionParser.Parse(yaml, "test.yaml", "test");

    [Fact]
    public void A_matrix_expands_to_the_product_of_its_axes_named_by_their_values()
    {
        var plan = StudyPlanner.Expand(Parse("""
            matrix:
              optimizer: [adam, novograd]
              precision: [fp32, bf16-mixed]
              batch-size: [4, 8, 16]
            """), "/data");
        plan.Runs.Count.ShouldBe(2 * 2 * 3);
        plan.Runs.Select(r => r.Name).Take(4).ShouldBe([
            "optimizer-adam_precision-fp32_batch-size-4", "optimizer-adam_precision-fp32_batch-size-8",
            "optimizer-adam_precision-fp32_batch-size-16", "optimizer-adam_precision-bf16-mixed_batch-size-4",
        ]);
        plan.Runs.Select(r => r.Name).Distinct().Count().ShouldBe(12);
        var last = plan.Runs[^1];
        last.Name.ShouldBe("optimizer-novograd_precision-bf16-mixed_batch-size-16");
        last.Options.Optimisation.Optimizer.ShouldBe(OptimizerKind.Novograd);
        last.Options.Compute.Precision.ShouldBe(PrecisionChoice.Bf16Mixed);
        last.Options.Optimisation.FixedBatchSize.ShouldBe(16);
        last.Changes.ShouldBe([new OptionSetting("optimizer", "novograd"), new OptionSetting("precision", "bf16-mixed"), new OptionSetting("batch-size", "16")]);
        plan.BaselineRun.ShouldBe(plan.Runs[0].Name, "without a run named baseline, the first run is the baseline");
    }

    [Fact]
    public void Named_runs_cross_the_matrix()
    {
        var plan = StudyPlanner.Expand(Parse("""
            runs:
              - name: baseline
              - name: +cache
                set: { cache: memory }
            matrix:
              seed: [1, 2, 3]
            """), "/data");
        plan.Runs.Select(r => r.Name).ShouldBe(["baseline_seed-1", "baseline_seed-2", "baseline_seed-3", "+cache_seed-1", "+cache_seed-2", "+cache_seed-3"]);
        plan.Runs.Where(r => r.Name.StartsWith("+cache")).ShouldAllBe(r => r.Options.Loading.Cache == CacheMode.Memory);
        plan.Runs.Where(r => r.Name.StartsWith("baseline")).ShouldAllBe(r => r.Options.Loading.Cache == CacheMode.None);
        plan.Runs.Select(r => r.Options.Seed).ShouldBe([1, 2, 3, 1, 2, 3]);
        // Training seeds vary, the split does not.
        plan.Runs.ShouldAllBe(r => r.Options.SplitSeed == 42 && r.Options.ValidationFraction == 0.2);
    }

    [Fact]
    public void Settings_apply_in_order_base_budget_shared_run_matrix_command_line()
    {
        var definition = Parse("""
            base: green
            budget: { epochs: 5, energy: 10kJ }
            set: { epochs: 6, size: 96, model: unet, model-width: 8 }
            runs:
              - name: a
                set: { size: 64, model-width: ~ }
              - name: b
            matrix:
              epochs: [7]
            """);
        var plan = StudyPlanner.Expand(definition, "data", new StudyOverrides([new OptionSetting("size", "32")]));
        var a = plan["a_epochs-7"].Options;
        var b = plan["b_epochs-7"].Options;
        a.Data.ShouldBe(Path.GetFullPath("data"));
        a.Optimisation.Optimizer.ShouldBe(OptimizerKind.Novograd, "base: green");
        a.Stopping.EnergyBudget.ShouldBe("10kJ");
        a.Schedule.Epochs.ShouldBe(7, "the matrix wins over the shared set and the budget");
        a.Model.ShouldBe("unet");
        a.ModelWidth.ShouldBeNull("the run's ~ resets the shared width");
        b.ModelWidth.ShouldBe(8);
        a.Preprocessing.Size.ShouldBe(32, "the command line wins over everything");
        b.Preprocessing.Size.ShouldBe(32);
    }

    [Fact]
    public void The_study_data_defaults_to_the_file_and_is_required()
    {
        StudyPlanner.Expand(Parse("data: /from/file\nruns: [{ name: a }]"), null).Data.ShouldBe(Path.GetFullPath("/from/file"));
        StudyPlanner.Expand(Parse("data: /from/file\nruns: [{ name: a }]"), "/given").Data.ShouldBe(Path.GetFullPath("/given"));
        Should.Throw<GreenSegException>(() => StudyPlanner.Expand(Parse("runs: [{ name: a }]"), null)).Message.ShouldContain("--data");
    }

    [Theory]
    [InlineData("runs: [{ name: a, set: { epochs: many } }]", "run 'a'", "training option 'epochs': 'many' is not accepted (the value is not a number of the kind this option takes")]
    [InlineData("runs: [{ name: a, set: { model: transformer } }]", "run 'a'", "unknown model 'transformer'")]
    [InlineData("runs: [{ name: a, set: { optimizer: adamm } }]", "run 'a'", "'optimizer': 'adamm' is not accepted (the value is not one of the names this option accepts: sgd, adam, adamw, novograd, lion)")]
    [InlineData("runs: [{ name: a, set: { precision: fp8 } }]", "run 'a'", "'precision': 'fp8' is not accepted (the value is not one of the names this option accepts: auto, fp32, bf16-mixed, fp16-mixed)")]
    [InlineData("runs: [{ name: a, set: { cache: ram } }]", "run 'a'", "'cache': 'ram' is not accepted (the value is not one of the names")]
    [InlineData("runs: [{ name: a, set: { channels-last: sometimes } }]", "run 'a'", "'channels-last': 'sometimes' is not accepted")]
    [InlineData("runs: [{ name: a, set: { epochs: ~ } }]", "run 'a'", "'epochs' needs a value")]
    [InlineData("set: { size: huge }\nruns: [{ name: a }]", "(set)", "'size': 'huge'")]
    [InlineData("baseline-run: zzz\nruns: [{ name: a }]", "test.yaml", "baseline-run 'zzz' is not one of the runs: a")]
    [InlineData("matrix: { cache-dir: ['a b', 'a-b'] }", "test.yaml", "two runs would be named 'cache-dir-a-b'")]
    public void Every_run_is_validated_before_anything_trains(string yaml, string where, string problem)
    {
        var error = Should.Throw<InvalidInputException>(() => StudyPlanner.Expand(Parse(yaml), "/data"));
        error.Message.ShouldContain(where);
        error.Message.ShouldContain(problem);
    }

    [Theory]
    [InlineData("model-width=32", "model-width", "32")]
    [InlineData("energy-budget = 5kJ", "energy-budget", "5kJ")]
    [InlineData("model-width=", "model-width", null)]
    [InlineData("model-width=~", "model-width", null)]
    public void Command_line_settings_parse_as_key_value(string text, string key, string? value)
    {
        StudyOverrides.ParseSetting(text).ShouldBe(new OptionSetting(key, value));
    }

    /// <summary>
    /// Fuzz: any text given to --set is either a setting of a known key, applied or refused with the option named, or
    /// refused as a whole; never another exception.
    /// </summary>
    [Fact]
    public void Any_set_text_is_parsed_and_applied_or_refused_with_a_clear_error()
    {
        var key = Gen.OneOf(Gen.OneOfConst([.. OptionOverrides.Keys, "augmentation.max-scale", "optimisation.learning-rate"]), Gen.String);
        var value = Gen.OneOf(Gen.OneOfConst("", "~", "1", "-3", "0.5", "1e400", "true", "nan", "[1, 2]", "{a: b}", "'x"), Gen.String);
        Gen.Select(key, Gen.OneOfConst("=", " = ", ""), value, (k, eq, v) => k + eq + v).Sample(text =>
        {
            OptionSetting setting;
            try { setting = StudyOverrides.ParseSetting(text); }
            catch (GreenSegException) { return; }
            OptionOverrides.IsKey(setting.Key).ShouldBeTrue();
            try { OptionOverrides.Apply(new TrainingOptions(), [setting], "--set"); }
            catch (GreenSegException e) { e.Message.ShouldNotBeNullOrWhiteSpace(); }
        }, iter: 300);
    }

    [Theory]
    [InlineData("model-width", "expected KEY=VALUE")]
    [InlineData("widht=3", "unknown training option 'widht'")]
    public void Bad_command_line_settings_are_refused(string text, string problem)
    {
        Should.Throw<GreenSegException>(() => StudyOverrides.ParseSetting(text)).Message.ShouldContain(problem);
    }

    [Fact]
    public void The_command_line_cannot_move_the_split()
    {
        Should.Throw<GreenSegException>(() => StudyPlanner.Expand(Parse("runs: [{ name: a }]"), "/data",
            new StudyOverrides([new OptionSetting("split-seed", "3")]))).Message.ShouldContain("split");
    }

    [Fact]
    public void Overrides_parse_values_as_a_config_file_does()
    {
        var options = OptionOverrides.Apply(new TrainingOptions(), [
            new OptionSetting("learning-rate", "1e-4"), new OptionSetting("pue", "1.4"), new OptionSetting("augment", "false"),
            new OptionSetting("model-width", "24"), new OptionSetting("energy-budget", "2Wh"),
        ], "here");
        options.Optimisation.LearningRate.ShouldBe("1e-4");
        options.Energy.Pue.ShouldBe(1.4);
        options.Loading.Augment.ShouldBeFalse();
        options.ModelWidth.ShouldBe(24);
        options.Stopping.EnergyBudget.ShouldBe("2Wh");
        OptionOverrides.Keys.ShouldContain("split-seed");
        OptionOverrides.Keys.ShouldNotContain("learning-rate-is-auto");
        OptionOverrides.Keys.ShouldNotContain("optimisation");
    }

    [Fact]
    public void Settings_take_a_sections_key_alone_or_its_dotted_path()
    {
        var options = OptionOverrides.Apply(new TrainingOptions(), [
            new OptionSetting("optimisation.learning-rate", "auto"), new OptionSetting("schedule.epochs", "3"),
            new OptionSetting("augmentation.shift-probability", "0.5"), new OptionSetting("loading.augmentation.gamma-probability", "0"),
            new OptionSetting("lr-schedule.plateau-patience", "2"), new OptionSetting("precision", "bf16"),
        ], "here");
        options.Optimisation.LearningRateIsAuto.ShouldBeTrue();
        options.Schedule.Epochs.ShouldBe(3);
        (options.Loading.Augmentation.ShiftProbability, options.Loading.Augmentation.GammaProbability).ShouldBe((0.5, 0.0));
        options.Schedule.LrSchedule.PlateauPatience.ShouldBe(2);
        options.Compute.Precision.ShouldBe(PrecisionChoice.Bf16Mixed);
        StudyOverrides.ParseSetting("schedule.epochs=4").ShouldBe(new OptionSetting("schedule.epochs", "4"));
        Should.Throw<GreenSegException>(() => StudyOverrides.ParseSetting("schedule.learning-rate=1")).Message.ShouldContain("unknown training option");
        Should.Throw<InvalidInputException>(() => OptionOverrides.Apply(new TrainingOptions(), [new OptionSetting("optimisation", "3")], "here"))
            .Problem.ShouldContain("unknown training option 'optimisation'");

        var plan = StudyPlanner.Expand(Parse("set: { optimisation.learning-rate: 1e-4 }\nruns: [{ name: a, set: { schedule.epochs: 2 } }]"), "/data");
        (plan["a"].Options.Optimisation.LearningRate, plan["a"].Options.Schedule.Epochs).ShouldBe(("1e-4", 2));
    }
}
