using GreenSeg.Tests.Studies;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Benchmarks;
using GreenSeg.Models;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Benchmarks;

public sealed class StudyBenchmarkTests(TinyPhantomFixture fixture) : IClassFixture<TinyPhantomFixture>
{
    private IReadOnlyList<SliceRef> Slices => DatasetReader.Open(fixture.Data).TrainingStacks.SelectMany(s => s.Slices).ToList();

    [Fact]
    public void A_recipe_is_timed_cold_then_warm_over_the_same_slices()
    {
        var options = fixture.Plan("runs: [{ name: a, set: { cache: disk, prefetch: 1, batch-size: 4 } }]").Runs[0].Options;
        var timing = TrainingThroughputBenchmark.Measure("a", "cache: disk", options, Slices, batches: 2);
        timing.BatchSize.ShouldBe(4);
        timing.Cold.Slices.ShouldBe(8);
        timing.Warm.Slices.ShouldBe(8);
        timing.Cold.Seconds.ShouldBeGreaterThan(0);
        timing.Warm.SlicesPerSecond.ShouldBe(8 / timing.Warm.Seconds, 1e-9);
        timing.Warm.DataWaitShare.ShouldBeInRange(0, 1);
        timing.Parameters.ShouldBeGreaterThan(0);
        using (var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4 }))
            timing.MacsPerSlice.ShouldBe(ModelProfiler.Profile(model, 32, 32).MultiplyAccumulates);
        timing.EffectiveGigaflops.ShouldBe(6.0 * timing.MacsPerSlice * timing.Warm.SlicesPerSecond / 1e9, 1e-9);
    }

    [Fact]
    public void The_subset_is_seeded_and_never_larger_than_the_data()
    {
        var slices = Slices;
        TrainingThroughputBenchmark.Subset(slices, 10, 3).ShouldBe(TrainingThroughputBenchmark.Subset(slices, 10, 3));
        TrainingThroughputBenchmark.Subset(slices, 10, 3).Distinct().Count().ShouldBe(10);
        TrainingThroughputBenchmark.Subset(slices, 100_000, 3).Count.ShouldBe(slices.Count);
        Should.Throw<GreenSegException>(() => TrainingThroughputBenchmark.Subset([], 1, 0));
    }

    [Fact]
    public void Kernels_count_their_flops()
    {
        var matmul = ComputePeakBenchmark.Matmul(ScalarType.BFloat16, n: 64, repeats: 2);
        matmul.Mode.ShouldBe("bf16");
        matmul.Flops.ShouldBe(2.0 * 64 * 64 * 64);
        matmul.Seconds.Count.ShouldBe(2);
        matmul.Gigaflops.ShouldBe(matmul.Flops / matmul.MedianSeconds / 1e9, 1e-6);

        var conv = ComputePeakBenchmark.Convolution(ComputeSettings.Fast, batch: 2, channels: 8, size: 16, repeats: 1);
        conv.Flops.ShouldBe(2.0 * 2 * 8 * 8 * 9 * 16 * 16);
        conv.Mode.ShouldBe(ComputeSettings.Fast.ToString());
    }

    [Fact]
    public void The_recipes_are_the_techniques_study_and_one_off_techniques_are_named_not_timed()
    {
        var result = StudyBenchmark.Run(new StudyBenchmarkOptions
        {
            Data = fixture.Data, Size = 32, Batches = 1, Threads = 2, Peak = false, Inference = false,
        });
        var techniques = StudyPlanner.Expand(StudyPresets.Load("techniques"), fixture.Data);
        result.Recipes.Select(r => r.Recipe).ShouldBe(techniques.Runs.Select(r => r.Name).Where(n => n != "+lr-finder"));
        result.OneOffRecipes.ShouldBe(["+lr-finder (learning-rate: auto)"]);
        result.Recipes.ShouldAllBe(r => r.Options.Preprocessing.Size == 32 && r.Warm.Slices == 8);
        result.DataWait.Select(r => (r.Options.Loading.Cache, r.Options.Loading.Prefetch)).ShouldBe([(CacheMode.None, 0), (CacheMode.None, 2), (CacheMode.Memory, 0), (CacheMode.Memory, 2), (CacheMode.Disk, 0), (CacheMode.Disk, 2)]);
        result.DataWait.ShouldAllBe(r => r.Options.Model == "att-squeeze-unet");
        result.Matmuls.ShouldBeEmpty();
        result.Inference.ShouldBeEmpty();
        result.PeakFor("bf16-mixed").ShouldBeNull();
    }
}
