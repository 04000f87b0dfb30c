using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Training;

public class TrainingOptionsTests
{
    [Fact]
    public void Options_written_before_percentile_scaling_was_the_default_keep_z_score_while_a_users_config_gets_the_default()
    {
        string written = new TrainingOptions { Data = "d", Preprocessing = new() { Normalization = IntensityNormalization.ZScoreNonzero } }.ToYaml();
        string before = written.Replace("  normalization: ZScoreNonzero\n", "");
        before.ShouldNotBe(written);
        TrainingOptions.ParseWritten(written, "config.yaml").Preprocessing.Normalization.ShouldBe(IntensityNormalization.ZScoreNonzero);
        TrainingOptions.ParseWritten(before, "config.yaml").Preprocessing.Normalization.ShouldBe(IntensityNormalization.ZScoreNonzero);
        TrainingOptions.Parse(before, "run.yaml").Preprocessing.Normalization.ShouldBe(IntensityNormalization.Percentile);
        string percentile = new TrainingOptions { Data = "d" }.ToYaml();
        TrainingOptions.ParseWritten(percentile, "config.yaml").Preprocessing.Normalization.ShouldBe(IntensityNormalization.Percentile);
    }

    [Fact]
    public void Options_written_before_the_large_components_were_the_default_keep_the_largest_while_a_users_config_gets_the_default()
    {
        string written = new TrainingOptions { Data = "d" }.ToYaml();
        written.ShouldContain("  components: large\n");
        string before = written.Replace("postprocessing:\n  components: large\n  min-component-share: 0.1\n", "");
        before.ShouldNotBe(written);
        TrainingOptions.ParseWritten(written, "config.yaml").Postprocessing.Components.ShouldBe(ComponentSelection.Large);
        TrainingOptions.ParseWritten(before, "config.yaml").Postprocessing.Components.ShouldBe(ComponentSelection.Largest);
        TrainingOptions.Parse(before, "run.yaml").Postprocessing.Components.ShouldBe(ComponentSelection.Large);
    }

    [Fact]
    public void The_augmentation_section_of_a_config_round_trips_and_keeps_unnamed_defaults()
    {
        var options = TrainingOptions.Parse("""
            data: somewhere
            loading:
              balance: sequence
              augmentation:
                max-rotation-degrees: 180
                shift-probability: 0.5
                intensity-curve-probability: 0.25
            """, "test.yaml");

        options.Loading.Balance.ShouldBe(BalanceMode.Sequence);
        options.Loading.Augmentation.MaxRotationDegrees.ShouldBe(180);
        options.Loading.Augmentation.ShiftProbability.ShouldBe(0.5);
        options.Loading.Augmentation.IntensityCurveProbability.ShouldBe(0.25);
        options.Loading.Augmentation.FlipXProbability.ShouldBe(new AugmentationOptions().FlipXProbability);
        TrainingOptions saved = TrainingOptions.Parse(options.ToYaml(), "saved");
        saved.Loading.Augmentation.ShouldBe(options.Loading.Augmentation);
        saved.ToYaml().ShouldBe(options.ToYaml());
    }

    [Fact]
    public void Loss_schedule_and_lr_finder_settings_come_from_the_config()
    {
        var options = TrainingOptions.Parse("""
            data: d
            schedule:
              lr-finder-min-lr: 1e-6
              lr-finder-max-lr: 0.5
              lr-schedule:
                plateau-patience: 2
                min-learning-rate: 1e-6
            optimisation:
              loss-settings:
                dice-smooth: 1
                bce-weight: 0.5
            """, "sections.yaml").Validate();
        (options.Schedule.LrFinderMinLr, options.Schedule.LrFinderMaxLr).ShouldBe((1e-6, 0.5));
        (options.Schedule.LrSchedule.PlateauPatience, options.Schedule.LrSchedule.MinLearningRate, options.Schedule.LrSchedule.PlateauFactor).ShouldBe((2, 1e-6, 0.1));
        (options.Optimisation.LossSettings.DiceSmooth, options.Optimisation.LossSettings.BceWeight, options.Optimisation.LossSettings.DiceWeight).ShouldBe((1.0, 0.5, 1.0));
        var loss = GreenSeg.Training.Losses.LossFactory.Create(options.Optimisation.Loss, options.Optimisation.LossSettings).ShouldBeOfType<GreenSeg.Training.Losses.DiceBceLoss>();
        (loss.Dice.Smooth, loss.BceWeight).ShouldBe((1.0, 0.5));
        TrainingOptions.Parse(options.ToYaml(), "saved").ToYaml().ShouldBe(options.ToYaml());
        options.ToYaml().ShouldNotContain("kind:"); // the policy comes from lr-policy
    }

    [Theory]
    [InlineData("lr-schedule:\n  plateau-factor: 2\n", "lr-schedule plateau-factor")]
    [InlineData("loss-settings:\n  focal-alpha: 3\n", "loss-settings focal-alpha")]
    [InlineData("loss-settings:\n", "loss-settings: the section is empty")]
    [InlineData("lr-finder-min-lr: 2\n", "lr-finder-min-lr")]
    [InlineData("schedule:\n  lr-schedule:\n    plateau-patience: -1\n", "lr-schedule plateau-patience")]
    [InlineData("optimisation:\n", "optimisation: the section is empty")]
    [InlineData("energy:\n  cpu-tdp: -5\n", "cpu-tdp")]
    public void A_bad_section_value_is_named_by_its_key(string yaml, string problem)
    {
        Should.Throw<GreenSegException>(() => TrainingOptions.Parse("data: d\n" + yaml, "bad.yaml").Validate()).Message.ShouldContain(problem);
    }

    [Fact]
    public void Closed_choices_are_enums_written_with_their_config_names()
    {
        string yaml = new TrainingOptions { Data = "d", Loading = new() { Cache = CacheMode.Disk, Balance = BalanceMode.Sequence }, Stopping = new() { SelectBestBy = SelectionMetric.Loss } }.ToYaml();
        yaml.ShouldContain("\nloading:\n  cache: disk\n");
        yaml.ShouldContain("\n  balance: sequence\n");
        yaml.ShouldContain("\nstopping:\n");
        yaml.ShouldContain("\n  select-best-by: loss\n");
        var read = TrainingOptions.Parse("data: d\nloading:\n  cache: none\n  balance: stack\nstopping:\n  select-best-by: dice\n", "names.yaml");
        (read.Loading.Cache, read.Loading.Balance, read.Stopping.SelectBestBy).ShouldBe((GreenSeg.Data.CacheMode.None, BalanceMode.Stack, SelectionMetric.Dice));
    }

    [Fact]
    public void A_bad_augmentation_or_balance_value_is_an_error_that_names_it()
    {
        var bad = new TrainingOptions { Data = "d", Loading = new() { Augmentation = new AugmentationOptions { GammaProbability = 2 } } };
        Should.Throw<GreenSegException>(() => bad.Validate()).Message.ShouldContain("gamma-probability"); // the config's key
        Should.Throw<GreenSegException>(() => new TrainingOptions { Data = "d", Loading = new() { Balance = (BalanceMode)7 } }.Validate()).Message.ShouldContain("balance");
        Should.Throw<InvalidInputException>(() => TrainingOptions.Parse("data: d\nbalance: subjects\n", "bad.yaml")).Problem.ShouldContain("balance: subjects");
        Should.Throw<GreenSegException>(() => TrainingOptions.Parse("data: d\naugmentation:\n", "empty.yaml").Validate()).Message.ShouldContain("augmentation");
    }

    [Theory]
    [InlineData(BalanceMode.Stack)]
    [InlineData(BalanceMode.Sequence)]
    public void Balancing_gives_every_group_the_same_share(BalanceMode balance)
    {
        TrainingStack Stack(string id, string sequence, int slices) =>
            new(id, sequence, Enumerable.Range(0, slices).Select(z => new SliceRef($"{id}.nii", null, z)).ToList());
        TrainingStack[] stacks = [Stack("DWI_0", "DWI", 30), Stack("DWI_1", "DWI", 10), Stack("T2W_0", "T2W", 5)];

        double[] weights = Trainer.BalancingWeights(stacks, balance)!;

        weights.Length.ShouldBe(45);
        double dwi0 = weights[..30].Sum(), dwi1 = weights[30..40].Sum(), t2w = weights[40..].Sum();
        if (balance == BalanceMode.Stack)
        {
            dwi0.ShouldBe(dwi1, 1e-9);
            dwi1.ShouldBe(t2w, 1e-9);
        }
        else
        {
            (dwi0 + dwi1).ShouldBe(t2w, 1e-9);
            weights[0].ShouldBe(weights[35], 1e-12); // within a sequence, every slice alike
        }
        Trainer.BalancingWeights(stacks, BalanceMode.None).ShouldBeNull();
    }
}
