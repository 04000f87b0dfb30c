using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Phantom;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

/// <summary>A small phantom shared by the engine tests (written once per test class).</summary>
public sealed class SmallPhantom : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("greenseg-trainer-").FullName;

    public SmallPhantom() =>
        PhantomWriter.WriteDataset(Root, new PhantomOptions { Seed = 7, TrainStacks = new(1, 1, 1), TestStacks = new(0, 0, 0) });

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>A fast recipe: micronet at 32x32 and 8 mm spacing, a fixed rate, augmentation and prefetch on.</summary>
    public TrainingOptions Tiny(int epochs = 3) => new()
    {
        Data = Root,
        Model = "micronet",
        ValidationFraction = 0.34,
        Preprocessing = new() { Size = 32, Spacing = 8 },
        Schedule = new() { Epochs = epochs },
        Optimisation = new() { LearningRate = "3e-3", BatchSize = "8" },
        Compute = new() { Precision = PrecisionChoice.Fp32, ChannelsLast = false, Threads = 2 },
    };
}

/// <summary>Runs alone: whole training runs are heavy, and the tensor count below is per thread.</summary>
[CollectionDefinition(nameof(SerialTorch), DisableParallelization = true)]
public sealed class SerialTorch;

[Collection(nameof(SerialTorch))]
public sealed class TrainerTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("greenseg-runs-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    private TrainingOptions Tiny(int epochs = 3) => phantom.Tiny(epochs);

    [Fact]
    public void ARunWritesItsFolderAndLowersTheLoss()
    {
        var result = Trainer.Train(Tiny(epochs: 4), Path.Combine(_runs, "a"));

        var rows = MetricsFile.Read(Path.Combine(result.RunFolder, "metrics.csv"));
        rows.Count.ShouldBe(4);
        rows[^1].TrainLoss.ShouldBeLessThan(rows[0].TrainLoss);
        rows.ShouldAllBe(r => r.EnergyJoules > 0 && r.EpochSeconds > 0 && r.SlicesPerSecond > 0);
        rows.ShouldAllBe(r => r.EnergyOrigin.Contains("cpu="));
        foreach (string file in new[] { "config.yaml", "learning-curve.png", "emissions.csv", "summary.json", "train.log", "checkpoints/best/model.pt", "checkpoints/best/model.json", "checkpoints/last/state.json" })
            File.Exists(Path.Combine(result.RunFolder, file)).ShouldBeTrue(file);
        File.ReadLines(Path.Combine(result.RunFolder, "emissions.csv")).First().ShouldStartWith("timestamp,project_name,run_id,experiment_id,duration,emissions");
        TrainingOptions.Load(Path.Combine(result.RunFolder, "config.yaml")).ShouldBe(Tiny(epochs: 4));
        rows.ShouldAllBe(r => r.ValidationDiceRaw >= 0 && r.ValidationDiceRaw <= 1);
    }

    [Fact]
    public void WithoutValidationPostProcessingTheScoredDiceIsTheRawOne()
    {
        var result = Trainer.Train(Tiny(epochs: 1).WithStopping(s => s with { PostprocessValidation = false }), Path.Combine(_runs, "raw"));

        var row = MetricsFile.Read(Path.Combine(result.RunFolder, "metrics.csv")).Single();
        row.ValidationDice.ShouldBe(row.ValidationDiceRaw);
    }

    [Fact]
    public void PostProcessedValidationDropsADistantFalseBlob()
    {
        // Two 8x8 slices: the truth a 2x2x2 cube, the prediction that cube plus one stray voxel far away.
        const int Size = 8;
        var truth = new byte[2 * Size * Size];
        foreach (int z in new[] { 0, 1 })
            foreach (int y in new[] { 2, 3 })
                foreach (int x in new[] { 2, 3 })
                    truth[x + Size * (y + Size * z)] = 1;
        var predicted = (byte[])truth.Clone();
        predicted[7 + Size * (7 + Size * 1)] = 1;

        var (raw, cleaned) = Validation.ScoreStack(predicted, truth, Size, GreenSeg.Transforms.PostProcessingOptions.Default);

        raw.ShouldBe(2.0 * 8 / (8 + 9), 1e-12);
        cleaned.ShouldBe(1.0);
        // The recipe's post-processing is the one scored: keeping every component keeps the stray voxel.
        Validation.ScoreStack(predicted, truth, Size, GreenSeg.Transforms.PostProcessingOptions.Default with { Components = GreenSeg.Transforms.ComponentSelection.All })
            .PostProcessed!.Value.ShouldBe(raw, 1e-12);
        Validation.ScoreStack(predicted, truth, Size, postprocessing: null).PostProcessed.ShouldBeNull();
    }

    [Fact]
    public void AResumedRunEndsExactlyWhereAnUninterruptedRunDoes()
    {
        var options = Tiny(epochs: 3).WithSchedule(s => s with { LrPolicy = GreenSeg.Training.Schedules.LrPolicyKind.Cosine })
            .WithOptimisation(o => o with { Optimizer = GreenSeg.Training.Optimizers.OptimizerKind.Novograd });
        var whole = Trainer.Train(options, Path.Combine(_runs, "whole"));

        // Interrupt after the first epoch, as a kill between epochs would leave it.
        using var stop = new CancellationTokenSource();
        string cut = Path.Combine(_runs, "cut");
        var first = Trainer.Train(options, cut, new StopAfterEpoch(0, stop), stop.Token);
        first.EpochsRun.ShouldBe(1);
        var resumed = Trainer.Resume(cut);

        resumed.EpochsRun.ShouldBe(3);
        Weights(Path.Combine(cut, "checkpoints", "last", "model.pt")).ShouldBe(Weights(Path.Combine(whole.RunFolder, "checkpoints", "last", "model.pt")));
        MetricsFile.Read(Path.Combine(cut, "metrics.csv")).Select(r => r.TrainLoss)
            .ShouldBe(MetricsFile.Read(Path.Combine(whole.RunFolder, "metrics.csv")).Select(r => r.TrainLoss));
        Should.Throw<GreenSeg.Common.GreenSegException>(() => Trainer.Resume(cut)).Message.ShouldContain("already finished");
    }

    [Fact]
    public void A_resumed_runs_emissions_rows_cover_every_process_of_the_run()
    {
        using var stop = new CancellationTokenSource();
        string cut = Path.Combine(_runs, "cut");
        Trainer.Train(Tiny(epochs: 3), cut, new StopAfterEpoch(1, stop), stop.Token);
        Trainer.Resume(cut);

        var rows = EmissionRows(cut);
        rows.Count.ShouldBe(2);
        double epochJoules = MetricsFile.Read(Path.Combine(cut, "metrics.csv")).Sum(r => r.EnergyJoules);
        // Every epoch (two run by the first process) and the setup around them; nothing counted twice.
        rows.Sum(r => r.Joules).ShouldBeGreaterThanOrEqualTo(epochJoules * 0.999);
        rows.Sum(r => r.Joules).ShouldBeLessThan(epochJoules * 3);
    }

    [Fact]
    public void A_resume_after_a_kill_reports_the_killed_process_energy_up_to_its_checkpoint()
    {
        using var stop = new CancellationTokenSource();
        string cut = Path.Combine(_runs, "killed");
        Trainer.Train(Tiny(epochs: 3), cut, new StopAfterEpoch(1, stop), stop.Token);
        // What a kill leaves: no emissions row, and the energy the checkpoint recorded.
        File.Delete(Path.Combine(cut, "emissions.csv"));
        string last = Path.Combine(cut, "checkpoints", "last");
        RunFolder.WriteState(last, RunFolder.ReadState(last) with { UnreportedEnergy = new GreenSeg.Energy.CarriedEnergy(CpuJoules: 1234, Seconds: 5) });

        Trainer.Resume(cut);

        var rows = EmissionRows(cut);
        rows.Count.ShouldBe(2);
        rows[0].Joules.ShouldBe(1234, 1e-6);
        rows[0].Seconds.ShouldBe(5, 1e-6);
    }

    [Fact]
    public void Resuming_a_folder_that_does_not_exist_names_it_and_creates_nothing()
    {
        string missing = Path.Combine(_runs, "no-such-run");

        Should.Throw<GreenSeg.Common.InvalidInputException>(() => Trainer.Resume(missing)).Path.ShouldBe(missing);
        Directory.Exists(missing).ShouldBeFalse();
    }

    private static List<(double Joules, double Seconds)> EmissionRows(string run)
    {
        using var reader = new StreamReader(Path.Combine(run, "emissions.csv"));
        using var csv = new CsvHelper.CsvReader(reader, System.Globalization.CultureInfo.InvariantCulture);
        return csv.GetRecords<dynamic>().Cast<IDictionary<string, object>>()
            .Select(r => (double.Parse((string)r["energy_consumed"], System.Globalization.CultureInfo.InvariantCulture) * 3.6e6,
                double.Parse((string)r["duration"], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    [Fact]
    public void AnEnergyBudgetStopsTrainingAndKeepsTheBestCheckpoint()
    {
        var result = Trainer.Train(Tiny(epochs: 50).WithStopping(s => s with { EnergyBudget = "1J" }), Path.Combine(_runs, "budget"));
        result.EpochsRun.ShouldBe(1);
        result.StopReason.ShouldContain("energy budget");
        File.Exists(Path.Combine(result.RunFolder, "checkpoints", "best", "model.pt")).ShouldBeTrue();
    }

    [Fact]
    public void Bf16MixedGivesTheFp32LossWithinTwoPercent()
    {
        // Same weights, same batch: the loss of one forward pass in each mode.
        torch.manual_seed(3);
        var model = ModelRegistry.Create("att-squeeze-unet", new ModelOptions());
        model.eval();
        using var scope = torch.NewDisposeScope();
        var images = torch.randn(2, 1, 64, 64);
        var masks = (torch.rand(2, 1, 64, 64) > 0.9).to_type(ScalarType.Float32);
        var loss = GreenSeg.Training.Losses.LossFactory.Create(GreenSeg.Training.Losses.LossKind.DiceBce);
        double fp32 = loss.Compute(model.call(images), masks).item<float>();
        ComputeMode.Apply(model, Precision.Bf16Mixed, channelsLast: false);
        double bf16 = loss.Compute(model.call(images), masks).item<float>();
        Math.Abs(bf16 - fp32).ShouldBeLessThan(0.02 * fp32);
    }

    [Fact]
    public void TrainingStepsLeaveNoTensorBehind()
    {
        torch.manual_seed(4);
        var model = ModelRegistry.Create("micronet", new ModelOptions());
        var optimizer = GreenSeg.Training.Optimizers.OptimizerFactory.Create(GreenSeg.Training.Optimizers.OptimizerKind.Novograd, model.parameters(), new() { LearningRate = 1e-3 });
        var loss = GreenSeg.Training.Losses.LossFactory.Create(GreenSeg.Training.Losses.LossKind.DiceBce);
        var batch = new HostBatch(new float[4 * 32 * 32], new float[4 * 32 * 32], 4, 32);
        var compute = new ComputeSettings(Precision.Bf16Mixed, ChannelsLast: false);
        var parts = new TrainingParts(model, compute, loss, optimizer, torch.CPU) { GradClip = 1.0 };
        for (int i = 0; i < 3; i++) TrainingStep.Run(parts, batch);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 60; i++) TrainingStep.Run(parts, batch);
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.ShouldBe(live);
    }

    private static float[] Weights(string path)
    {
        var model = ModelRegistry.Create("micronet", new ModelOptions());
        ModelWeights.Load(model, path);
        using var scope = torch.NewDisposeScope();
        return model.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray()).ToArray();
    }

}

/// <summary>Cancels a run once the given epoch is done, as a kill between epochs would leave it.</summary>
internal sealed class StopAfterEpoch(int epoch, CancellationTokenSource stop) : ITrainingObserver
{
    public void Message(string line) { }
    public void EpochStarted(int e, int totalEpochs, int steps) { }
    public void StepDone(int e, int step, int steps, double loss, double slicesPerSecond) { }
    public void EpochDone(EpochMetrics metrics, int totalEpochs)
    {
        if (metrics.Epoch == epoch) stop.Cancel();
    }
}

[Collection(nameof(SerialTorch))]
public sealed class BatchSizeFinderTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>
{
    [Fact]
    public void PicksTheFastestTriedSizeWithinTheLimitAndLeavesTheModelAsItWas()
    {
        torch.manual_seed(5);
        var model = ModelRegistry.Create("micronet", new ModelOptions());
        var optimizer = GreenSeg.Training.Optimizers.OptimizerFactory.Create(GreenSeg.Training.Optimizers.OptimizerKind.Adam, model.parameters(), new() { LearningRate = 1e-2 });
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        var preparation = SamplePreparation.Create(new TrainingOptions { Preprocessing = new() { Size = 32, Spacing = 8 } });
        var cache = new SampleCache(CacheMode.Memory, preparation.Prepare, preparation.Fingerprint);
        var slices = DatasetReader.Open(phantom.Root).TrainingStacks.SelectMany(s => s.Slices).ToList();
        var compute = new ComputeSettings(Precision.Fp32, false);
        var loss = GreenSeg.Training.Losses.LossFactory.Create(GreenSeg.Training.Losses.LossKind.Bce);

        var parts = new TrainingParts(model, compute, loss, optimizer, torch.CPU);
        var result = BatchSizeFinder.Find(parts, cache, slices, new BatchSizeSearch(32, MemoryLimitMb: 64 * 1024, MaxBatch: 16));

        result.Trials.Select(t => t.BatchSize).ShouldBe([2, 4, 8, 16]);
        result.Chosen.ShouldBe(result.Trials.MaxBy(t => t.SlicesPerSecond)!.BatchSize);
        model.parameters().Zip(before).ShouldAllBe(pair => pair.First.allclose(pair.Second, 0, 0, false));

        var tight = BatchSizeFinder.Find(parts, cache, slices, new BatchSizeSearch(32, MemoryLimitMb: 1, MaxBatch: 16));
        tight.Trials.ShouldHaveSingleItem().Fits.ShouldBeFalse();
        tight.Chosen.ShouldBe(2);

        // With the run's energy monitor, every trial is metered and the size with the most slices per joule is chosen.
        using var energy = GreenSeg.Energy.EnergySession.Start(new TrainingOptions().ToEnergyOptions(torch.CPU), "batch-size-finder-test");
        var metered = BatchSizeFinder.Find(parts, cache, slices, new BatchSizeSearch(32, MemoryLimitMb: 64 * 1024, MaxBatch: 8), energy.Monitor);
        metered.ByEnergy.ShouldBeTrue();
        metered.Trials.ShouldAllBe(t => t.SlicesPerJoule > 0);
        metered.Chosen.ShouldBe(metered.Trials.MaxBy(t => t.SlicesPerJoule)!.BatchSize);
        energy.Monitor.OpenWindows.ShouldBeEmpty();
        result.ByEnergy.ShouldBeFalse();
        result.Trials.ShouldAllBe(t => t.SlicesPerJoule == null);
    }
}
