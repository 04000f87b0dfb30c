using GreenSeg.Models;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

[Collection(nameof(SerialTorch))]
public sealed class WeightAverageTests
{
    [Fact]
    public void The_average_starts_at_the_weights_and_follows_them_with_a_warming_decay()
    {
        using var live = ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4, Seed = 1 });
        using var average = new WeightAverage(live, ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4, Seed = 2 }), decay: 0.99);
        var (name, weight) = live.state_dict().First(entry => entry.Key.EndsWith("weight", StringComparison.Ordinal) && entry.Value.dim() == 4);
        Tensor Averaged() => average.Model.state_dict()[name];
        float[] start = weight.data<float>().ToArray();
        Averaged().data<float>().ToArray().ShouldBe(start);
        average.Model.training.ShouldBeFalse();

        // First update: the average keeps 1/10 of itself (the warm-up), whatever the decay.
        average.NextDecay.ShouldBe(0.1, 1e-12);
        using (torch.no_grad()) weight.add_(1f);
        average.Update();
        Averaged().data<float>().ToArray().ShouldBe(start.Select(w => 0.1f * w + 0.9f * (w + 1)).ToArray(), tolerance: 1e-5);

        // The warm-up's weight (1 + n) / (10 + n) grows until the decay caps it.
        for (int i = 0; i < 2000; i++) average.Update();
        average.Updates.ShouldBe(2001);
        average.NextDecay.ShouldBe(0.99);
        // The weights did not move: the average has converged to them.
        Averaged().data<float>().ToArray().ShouldBe(weight.data<float>().ToArray(), tolerance: 1e-5);
    }

    [Fact]
    public void Training_start_takes_weights_a_hook_loaded_but_keeps_a_resumed_average()
    {
        using var live = ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4, Seed = 1 });
        using var average = new WeightAverage(live, ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4, Seed = 1 }), decay: 0.9);
        ITrainingHook hook = average;
        var (name, weight) = live.state_dict().First(entry => entry.Value.is_floating_point());
        float[] Averaged() => average.Model.state_dict()[name].data<float>().ToArray();

        // Weights loaded after the average was made (as pruning's hook loads its checkpoint) are where it starts.
        using (torch.no_grad()) weight.fill_(3f);
        hook.OnTrainStart(null!);
        Averaged().ShouldAllBe(v => v == 3f);

        // Once it has averaged steps (a resumed run), training's start leaves it alone.
        average.Update();
        using (torch.no_grad()) weight.fill_(5f);
        hook.OnTrainStart(null!);
        Averaged().ShouldAllBe(v => v == 3f);
    }

    [Fact]
    public void BatchNorm_statistics_are_averaged_and_its_counters_copied()
    {
        using var live = ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4, Seed = 1 });
        using var average = new WeightAverage(live, ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4, Seed = 1 }), decay: 0.5);
        var state = live.state_dict();
        string runningMean = state.Keys.First(k => k.EndsWith("running_mean", StringComparison.Ordinal));
        string counter = state.Keys.First(k => k.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        using (torch.no_grad())
        {
            state[runningMean].fill_(2f);
            state[counter].fill_(7);
        }
        average.Update();

        // Decay min(0.5, 1/10): 0.1 of the old mean (0) and 0.9 of the new (2).
        average.Model.state_dict()[runningMean].data<float>().ToArray().ShouldAllBe(v => Math.Abs(v - 1.8f) < 1e-6);
        average.Model.state_dict()[counter].item<long>().ShouldBe(7);
    }

    [Fact]
    public void A_decay_outside_0_to_1_and_another_architecture_are_refused()
    {
        using var live = ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4, Seed = 1 });
        Should.Throw<ArgumentOutOfRangeException>(() => new WeightAverage(live, ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 4 }), decay: 1));
        Should.Throw<ArgumentException>(() => new WeightAverage(live, ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4 }), decay: 0.9));
        Should.Throw<GreenSeg.Common.GreenSegException>(() => new TrainingOptions { Data = "d", Optimisation = new() { EmaDecay = 1 } }.Validate())
            .Message.ShouldContain("ema-decay");
    }

    [Fact]
    public void Options_written_before_weight_averaging_existed_mean_the_last_steps_weights_while_a_users_config_gets_the_default()
    {
        string written = new TrainingOptions { Data = "d", Optimisation = new() { EmaDecay = 0.9 } }.ToYaml();
        string before = written.Replace("  ema-decay: 0.9\n", "");
        before.ShouldNotBe(written);
        TrainingOptions.ParseWritten(written, "config.yaml").Optimisation.EmaDecay.ShouldBe(0.9);
        TrainingOptions.ParseWritten(before, "config.yaml").Optimisation.EmaDecay.ShouldBe(0);
        TrainingOptions.Parse(before, "run.yaml").Optimisation.EmaDecay.ShouldBe(0.995);
        // A run's config.yaml from then resumes without averaging.
        string folder = Directory.CreateTempSubdirectory("greenseg-written-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "config.yaml"), before);
            TrainingOptions.LoadWritten(Path.Combine(folder, "config.yaml")).Optimisation.EmaDecay.ShouldBe(0);
            TrainingOptions.Load(Path.Combine(folder, "config.yaml")).Optimisation.EmaDecay.ShouldBe(0.995);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
