using GreenSeg.Models;
using GreenSeg.Common;
using GreenSeg.Training;

namespace GreenSeg.Tests.Training;

[Collection(nameof(SerialTorch))]
public sealed class FinalRunTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("greenseg-final-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    private TrainingOptions Final(int epochs) => new()
    {
        Data = phantom.Root, Model = "micronet", Final = true,
        Preprocessing = new() { Size = 32, Spacing = 8 },
        Schedule = new() { Epochs = epochs },
        Optimisation = new() { LearningRate = "3e-3" },
        Compute = new() { Precision = GreenSeg.Models.PrecisionChoice.Fp32, ChannelsLast = false, Threads = 2 },
    };

    [Fact]
    public void AFinalRunTrainsOnEveryStackForItsEpochsAndKeepsTheLastEpoch()
    {
        var result = Trainer.Train(Final(epochs: 3), Path.Combine(_runs, "final"));

        result.EpochsRun.ShouldBe(3);
        result.BestEpoch.ShouldBe(2);
        double.IsNaN(result.BestValidationDice).ShouldBeTrue();
        string log = File.ReadAllText(Path.Combine(result.RunFolder, "train.log"));
        log.ShouldContain("training micronet on 3 stacks");
        log.ShouldContain("the model is epoch 2's (nothing held out)");
        log.ShouldNotContain("NaN");
        var rows = MetricsFile.Read(Path.Combine(result.RunFolder, "metrics.csv"));
        rows.Count.ShouldBe(3);
        rows.ShouldAllBe(r => double.IsNaN(r.ValidationDice) && r.IsBest);
        // The model segment loads is the last epoch's.
        var (manifest, _) = CheckpointManifest.Locate(result.RunFolder);
        manifest.Epoch.ShouldBe(2);
    }

    [Fact]
    public void AFinalRunResumesToTheSameEnd()
    {
        var whole = Trainer.Train(Final(epochs: 2), Path.Combine(_runs, "whole"));
        using var stop = new CancellationTokenSource();
        string cut = Path.Combine(_runs, "cut");
        Trainer.Train(Final(epochs: 2), cut, new StopAfterEpoch(0, stop), stop.Token).EpochsRun.ShouldBe(1);

        var resumed = Trainer.Resume(cut);

        resumed.EpochsRun.ShouldBe(2);
        MetricsFile.Read(Path.Combine(cut, "metrics.csv")).Select(r => r.TrainLoss)
            .ShouldBe(MetricsFile.Read(Path.Combine(whole.RunFolder, "metrics.csv")).Select(r => r.TrainLoss));
        CheckpointManifest.Locate(cut).Manifest.Epoch.ShouldBe(1);
    }

    [Fact]
    public void WithAWeightAverageTheModelIsTheAverageAndAResumeContinuesIt()
    {
        var options = Final(epochs: 2) with { Optimisation = new() { LearningRate = "3e-3", EmaDecay = 0.9 } };
        var whole = Trainer.Train(options, Path.Combine(_runs, "ema-whole"));
        using var stop = new CancellationTokenSource();
        string cut = Path.Combine(_runs, "ema-cut");
        Trainer.Train(options, cut, new StopAfterEpoch(0, stop), stop.Token).EpochsRun.ShouldBe(1);
        Trainer.Resume(cut).EpochsRun.ShouldBe(2);

        string best = Path.Combine(whole.RunFolder, "checkpoints", "best"), last = Path.Combine(whole.RunFolder, "checkpoints", "last");
        // The model segment loads is the average (kept beside the trained weights in the last checkpoint), not the last step's weights.
        Weights(Path.Combine(best, CheckpointManifest.WeightsFileName)).ShouldBe(Weights(Path.Combine(last, RunRecorder.AveragedWeightsFileName)));
        Weights(Path.Combine(best, CheckpointManifest.WeightsFileName)).ShouldNotBe(Weights(Path.Combine(last, CheckpointManifest.WeightsFileName)));
        CheckpointManifest.Locate(whole.RunFolder).Manifest.TrainedWith.ShouldContain("weights averaged (EMA 0.9)");
        File.ReadAllText(Path.Combine(whole.RunFolder, "train.log")).ShouldContain("moving average of the weights (decay 0.9)");
        // Resumed, the average continues where it stopped: the same model as the uninterrupted run's.
        Weights(Path.Combine(cut, "checkpoints", "best", CheckpointManifest.WeightsFileName))
            .ShouldBe(Weights(Path.Combine(best, CheckpointManifest.WeightsFileName)), tolerance: 1e-6);
    }

    /// <summary>The weights in a checkpoint's file, loaded into the model its folder's manifest describes.</summary>
    private static float[] Weights(string path)
    {
        using var model = CheckpointManifest.Locate(Path.GetDirectoryName(path)!).Manifest.CreateModel();
        ModelWeights.Load(model, path);
        return model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
    }

    [Fact]
    public void TheStacksOptionTrainsOnTheNamedStacksAndRefusesUnknownOnes()
    {
        var result = Trainer.Train(Final(epochs: 1) with { Stacks = ["DWI_vol0000", "T2W_vol0000"] }, Path.Combine(_runs, "two"));
        File.ReadAllText(Path.Combine(result.RunFolder, "train.log")).ShouldContain("on 2 stacks");

        Should.Throw<InvalidInputException>(() => Trainer.Train(Final(epochs: 1) with { Stacks = ["DWI_vol0000", "T2W_vol9999"] }, Path.Combine(_runs, "bad")))
            .Message.ShouldContain("T2W_vol9999");
    }
}
