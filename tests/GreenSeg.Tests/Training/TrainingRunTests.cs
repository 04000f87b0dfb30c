using GreenSeg.Common;
using GreenSeg.Energy;
using GreenSeg.Models;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

/// <summary>The engine's extension points: hooks in the step and at the epoch's end, stop rules, and what a checkpoint carries.</summary>
[Collection(nameof(SerialTorch))]
public sealed class TrainingRunTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("greenseg-engine-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    private TrainingOptions Tiny(int epochs = 2) => phantom.Tiny(epochs) with { Seed = 3 };

    /// <summary>Counts every call; optionally zeroes the gradients (the weights then never move under Adam without weight decay).</summary>
    private sealed class CountingHook(bool zeroGradients) : ITrainingHook
    {
        public int Starts, Losses, Backwards, Steps;
        public List<int> Epochs { get; } = [];

        public void OnTrainStart(TrainingRun run) => Starts++;

        public Tensor OnLoss(LossInputs inputs, Tensor loss)
        {
            Losses++;
            inputs.Logits.shape.ShouldBe(inputs.Masks.shape);
            return loss;
        }

        public void AfterBackward(SegmentationModel model)
        {
            Backwards++;
            if (!zeroGradients) return;
            using var noGrad = torch.no_grad();
            foreach (var parameter in model.parameters()) parameter.grad?.zero_();
        }

        public void AfterOptimizerStep(SegmentationModel model) => Steps++;

        public void OnEpochEnd(TrainingRun run, EpochMetrics metrics) => Epochs.Add(metrics.Epoch);
    }

    [Fact]
    public void HooksHearEveryStepAndEpochAndAGradientHookDecidesWhatTheOptimizerSees()
    {
        var hook = new CountingHook(zeroGradients: true);
        var result = Trainer.Train(Tiny(), Path.Combine(_runs, "hooked"), plugins: new TrainingPlugins { Hooks = [hook] });

        hook.Starts.ShouldBe(1);
        hook.Epochs.ShouldBe([0, 1]);
        hook.Losses.ShouldBeGreaterThan(0);
        (hook.Backwards, hook.Steps).ShouldBe((hook.Losses, hook.Losses));
        // Zero gradients every step: the trained weights are the initial ones.
        using var initial = ModelRegistry.Create("micronet", new ModelOptions { Seed = 3 });
        using var trained = ModelRegistry.Create("micronet", new ModelOptions());
        ModelWeights.Load(trained, Path.Combine(result.RunFolder, "checkpoints", "last", "model.pt"));
        trained.parameters().Zip(initial.parameters()).ShouldAllBe(pair => pair.First.equal(pair.Second).all().item<bool>());
    }

    /// <summary>Sets every weight of the models it is handed before validation to zero, and keeps them.</summary>
    private sealed class ZeroBeforeValidation : ITrainingHook
    {
        public List<SegmentationModel> Models { get; } = [];

        public void BeforeValidation(SegmentationModel model)
        {
            Models.Add(model);
            using var noGrad = torch.no_grad();
            foreach (var parameter in model.parameters()) parameter.zero_();
        }
    }

    [Fact]
    public void BeforeValidationReachesTheWeightAverageThatValidationScoresAndTheCheckpointKeeps()
    {
        // A data-parallel run's ranks are made to agree here; the average is the run's model, so it must be handed over too.
        var averaged = new ZeroBeforeValidation();
        var result = Trainer.Train(Tiny(epochs: 1) with { Optimisation = new() { LearningRate = "3e-3", BatchSize = "8", EmaDecay = 0.9 } },
            Path.Combine(_runs, "averaged"), plugins: new TrainingPlugins { Hooks = [averaged] });
        averaged.Models.Count.ShouldBe(2, "the trained model, then its average");
        averaged.Models[1].ShouldNotBeSameAs(averaged.Models[0]);
        using var kept = ModelRegistry.Create("micronet", new ModelOptions());
        ModelWeights.Load(kept, Path.Combine(result.RunFolder, "checkpoints", "last", RunRecorder.AveragedWeightsFileName));
        kept.parameters().ShouldAllBe(parameter => parameter.count_nonzero().item<long>() == 0);

        var plain = new ZeroBeforeValidation();
        Trainer.Train(Tiny(epochs: 1) with { Optimisation = new() { LearningRate = "3e-3", BatchSize = "8", EmaDecay = 0 } },
            Path.Combine(_runs, "plain-weights"), plugins: new TrainingPlugins { Hooks = [plain] });
        plain.Models.Count.ShouldBe(1, "without an average only the trained model");
    }

    [Fact]
    public void ALossHookChangesWhatIsTrained()
    {
        var doubled = new DoublingLoss();
        var plain = Trainer.Train(Tiny(epochs: 1), Path.Combine(_runs, "plain"));
        var changed = Trainer.Train(Tiny(epochs: 1), Path.Combine(_runs, "doubled"), plugins: new TrainingPlugins { Hooks = [doubled] });
        double plainLoss = MetricsFile.Read(Path.Combine(plain.RunFolder, "metrics.csv"))[0].TrainLoss;
        double doubledLoss = MetricsFile.Read(Path.Combine(changed.RunFolder, "metrics.csv"))[0].TrainLoss;
        doubledLoss.ShouldBeGreaterThan(1.5 * plainLoss);
    }

    private sealed class DoublingLoss : ITrainingHook
    {
        public Tensor OnLoss(LossInputs inputs, Tensor loss) => loss * 2;
    }

    [Fact]
    public void StopRulesAreAskedInOrderAndTheFirstReasonWins()
    {
        var options = Tiny(epochs: 5).WithStopping(s => s with { EarlyStoppingPatience = 1, EnergyBudget = "1J", GreenStopDicePerKj = 0.5 });
        var rules = StopRules.From(options);
        rules.Select(r => r.GetType()).ShouldBe([typeof(EarlyStoppingRule), typeof(EnergyBudgetRule), typeof(DicePerKilojouleRule), typeof(EpochLimitRule)]);

        StopRules.Decide(rules, new EpochOutcome(0, 1.0, 0.5, 0.5)).ShouldBeNull();
        // No Dice gain (early stopping with patience 1) and the budget spent: early stopping is named.
        StopRules.Decide(rules, new EpochOutcome(1, 1.0, 0.5, 2.0)).ShouldNotBeNull().ShouldStartWith("early stopping");
        StopRules.Decide([new EpochLimitRule(3)], new EpochOutcome(2, 0, 0, 0)).ShouldBe("completed 3 epochs");
        StopRules.Decide([new EnergyBudgetRule(EnergyBudget.Parse("1kJ"), "1kJ")], new EpochOutcome(0, 0, 0, 1500)).ShouldBe("energy budget 1kJ spent (1.5 kJ)");
    }

    [Fact]
    public void EarlyStoppingSavesAndRestoresItsStateThroughTheCheckpoint()
    {
        var options = Tiny().WithStopping(s => s with { EarlyStoppingPatience = 3 });
        var rule = new EarlyStoppingRule(options);
        rule.Observe(new EpochOutcome(0, 1.0, 0.6, 0));
        rule.Observe(new EpochOutcome(1, 1.0, 0.5, 0));
        var state = rule.Save(new ResumeState());
        (state.EarlyStoppingBest, state.EpochsWithoutImprovement).ShouldBe((0.6, 1));

        var resumed = new EarlyStoppingRule(options);
        resumed.Restore(state);
        resumed.Observe(new EpochOutcome(2, 1.0, 0.5, 0)).ShouldBeNull();
        resumed.Observe(new EpochOutcome(3, 1.0, 0.5, 0)).ShouldNotBeNull();
        new EarlyStoppingRule(options with { Final = true }).Observe(new EpochOutcome(0, 1, 0, 0)).ShouldBeNull();
    }

    [Fact]
    public void TheCheckpointCarriesThePreprocessingAndALaterVersionIsRefused()
    {
        var options = Tiny().WithPreprocessing(p => p with { Normalization = GreenSeg.Transforms.IntensityNormalization.Percentile, CanonicalOrientation = true });
        var manifest = RunRecorder.ManifestFor(options, epoch: 4, dice: 0.8);
        manifest.Preprocessing().ShouldBe(new GreenSeg.Transforms.PreprocessingOptions
        {
            TargetSpacing = 8, TargetWidth = 32, TargetHeight = 32,
            Normalization = GreenSeg.Transforms.IntensityNormalization.Percentile, CanonicalOrientation = true,
        });
        manifest.PreprocessingVersion.ShouldBe(GreenSeg.Transforms.PreprocessingOptions.Version);
        manifest.Problem().ShouldBeNull();
        (manifest with { PreprocessingVersion = GreenSeg.Transforms.PreprocessingOptions.Version + 1 }).Problem().ShouldNotBeNull().ShouldContain("PreprocessingVersion");
        (manifest with { Normalization = (GreenSeg.Transforms.IntensityNormalization)42 }).Problem().ShouldNotBeNull().ShouldContain("Normalization");

        string folder = Path.Combine(_runs, "checkpoint");
        Directory.CreateDirectory(folder);
        (manifest with { PreprocessingVersion = 99 }).Save(folder);
        File.WriteAllBytes(Path.Combine(folder, CheckpointManifest.WeightsFileName), [0]);
        Should.Throw<InvalidInputException>(() => CheckpointManifest.Locate(folder)).Problem.ShouldContain("PreprocessingVersion 99");
    }

    [Fact]
    public void AManifestFromBeforeTheVersionReadsAsVersionOne()
    {
        string folder = Path.Combine(_runs, "old");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, CheckpointManifest.FileName), """{"Model": "micronet", "Spacing": 2, "Size": 128, "Epoch": 3}""");
        File.WriteAllBytes(Path.Combine(folder, CheckpointManifest.WeightsFileName), [0]);
        var (manifest, _) = CheckpointManifest.Locate(folder);
        manifest.PreprocessingVersion.ShouldBe(1);
        manifest.Normalization.ShouldBe(GreenSeg.Transforms.IntensityNormalization.ZScoreNonzero);
    }
}
