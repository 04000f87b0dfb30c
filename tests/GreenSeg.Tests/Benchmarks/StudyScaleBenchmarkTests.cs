using GreenSeg.Benchmarks;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Tests.Studies;
using GreenSeg.Training;
using GreenSeg.Training.Optimizers;

namespace GreenSeg.Tests.Benchmarks;

public sealed class StudyScaleBenchmarkTests(TinyPhantomFixture fixture) : IClassFixture<TinyPhantomFixture>
{
    [Fact]
    public void The_baseline_is_the_study_s_as_it_ran()
    {
        var baseline = StudyScaleBenchmark.Baseline(fixture.Data);
        baseline.Data.ShouldBe(fixture.Data);
        baseline.Model.ShouldBe("unet");
        baseline.ModelWidth.ShouldBe(64);
        baseline.Preprocessing.Size.ShouldBe(256);
        baseline.Preprocessing.Spacing.ShouldBe(1.0);
        baseline.Compute.Precision.ShouldBe(PrecisionChoice.Fp32);
        baseline.Compute.ChannelsLast.ShouldBeFalse();
        baseline.Loading.Cache.ShouldBe(CacheMode.None);
        baseline.Loading.Prefetch.ShouldBe(0);
        baseline.Optimisation.Optimizer.ShouldBe(OptimizerKind.Adam);
        TrainingThroughputBenchmark.BatchSize(baseline).ShouldBe(8);
    }

    [Fact]
    public void The_green_recipe_is_train_s_default()
    {
        var green = StudyScaleBenchmark.GreenDefault(fixture.Data);
        var defaults = new TrainingOptions();
        green.Data.ShouldBe(fixture.Data);
        (green.Model, green.ModelWidth).ShouldBe((defaults.Model, defaults.ModelWidth));
        green.Preprocessing.ShouldBe(defaults.Preprocessing);
        green.Loading.ShouldBe(defaults.Loading);
        green.Compute.ShouldBe(defaults.Compute);
        green.Optimisation.ShouldBe(defaults.Optimisation);
    }

    [Fact]
    public void Both_recipes_are_timed_on_the_same_count_of_slices_and_scaled_to_an_epoch()
    {
        var result = StudyScaleBenchmark.Run(new StudyScaleOptions { Data = fixture.Data, Slices = 5, Threads = 2, Size = 32 });
        int trainingSlices = DatasetReader.Open(fixture.Data).TrainingStacks.Sum(s => s.Slices.Count);

        result.EpochSlices.ShouldBe(trainingSlices);
        result.Data.ShouldBe(fixture.Data);
        result.Baseline.Recipe.ShouldBe("baseline");
        result.Green.Recipe.ShouldBe("green default");
        foreach (var row in new[] { result.Baseline, result.Green })
        {
            row.EpochSlices.ShouldBe(trainingSlices);
            row.Timing.Cold.Slices.ShouldBe(8);   // the untimed warm-up: one batch
            row.Pass.Slices.ShouldBe(8);          // 5 slices rounded up to a whole batch of 8
            row.Pass.Energy.ShouldNotBeNull();
            row.Pass.JoulesPerSlice.ShouldBe(row.Pass.Energy.TotalJoules / 8, 1e-9);
            row.SecondsPerEpoch.ShouldBe(row.Pass.Seconds / 8 * trainingSlices, 1e-9);
            row.KilojoulesPerEpoch.ShouldBe(row.Pass.JoulesPerSlice * trainingSlices / 1000, 1e-12);
            row.Timing.Options.Preprocessing.Size.ShouldBe(32);
        }
        result.TimeRatio.ShouldBe(result.Baseline.SecondsPerEpoch / result.Green.SecondsPerEpoch);
        result.EnergyRatio.ShouldBe(result.Baseline.KilojoulesPerEpoch / result.Green.KilojoulesPerEpoch);
        result.MeetsTarget.ShouldBe(result.EnergyRatio >= 20);
        result.EnergyOrigin.ShouldBeOneOf("estimated", "measured");

        var baseline = result.Baseline.Timing;
        (baseline.Options.Model, baseline.Options.ModelWidth).ShouldBe(("unet", 64));
        baseline.Parameters.ShouldBeInRange(31_000_000, 31_100_000);
        baseline.Compute.ShouldBe(ComputeSettings.Reference);
        (baseline.Options.Loading.Cache, baseline.Options.Loading.Prefetch).ShouldBe((CacheMode.None, 0));
        baseline.Options.Optimisation.Optimizer.ShouldBe(OptimizerKind.Adam);
        baseline.Options.Preprocessing.Spacing.ShouldBe(1.0);
        result.Baseline.Settings.ShouldStartWith("unet width 64 (31.");
        result.Baseline.Settings.ShouldContain("32x32 at 1 mm, batch 8, fp32/NCHW, cache none, prefetch 0, adam");

        var green = result.Green.Timing;
        (green.Options.Model, green.Options.ModelWidth).ShouldBe(("unet", 16));
        green.Compute.ChannelsLast.ShouldBeTrue();
        (green.Options.Loading.Cache, green.Options.Loading.Prefetch).ShouldBe((CacheMode.Memory, 2));
        result.Green.Settings.ShouldContain("32x32 at 2 mm, batch 8");
    }
}
