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
        File.ReadAllText(Path.Combine(result.RunFolder, "train.log")).ShouldContain("training micronet on 3 stacks");
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
    public void TheStacksOptionTrainsOnTheNamedStacksAndRefusesUnknownOnes()
    {
        var result = Trainer.Train(Final(epochs: 1) with { Stacks = ["DWI_vol0000", "T2W_vol0000"] }, Path.Combine(_runs, "two"));
        File.ReadAllText(Path.Combine(result.RunFolder, "train.log")).ShouldContain("on 2 stacks");

        Should.Throw<InvalidInputException>(() => Trainer.Train(Final(epochs: 1) with { Stacks = ["DWI_vol0000", "T2W_vol9999"] }, Path.Combine(_runs, "bad")))
            .Message.ShouldContain("T2W_vol9999");
    }
}
