using GreenSeg.Common;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

public class LrPolicyTests
{
    private const double BaseRate = 0.1;

    private static OptimizerHelper NewOptimizer(nn.Module model, OptimizerKind name = OptimizerKind.Novograd, double momentum = 0.9) =>
        OptimizerFactory.Create(name, model.parameters(), new OptimizerSettings { LearningRate = BaseRate, Momentum = momentum });

    [Fact]
    public void FixedKeepsTheInitialRate()
    {
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model);
        var policy = LrPolicy.Create(new LrPolicySettings(), optimizer, epochs: 3, stepsPerEpoch: 4);
        for (int i = 0; i < 12; i++) policy.AfterOptimizerStep();
        policy.AfterEpoch(1.0);
        policy.AfterEpoch(2.0);
        policy.LearningRate.ShouldBe(BaseRate);
    }

    [Fact]
    public void PlateauReducesTenfoldAfterMoreThanFiveEpochsWithoutImprovement()
    {
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model);
        var policy = LrPolicy.Create(new LrPolicySettings { Kind = LrPolicyKind.Plateau, MinLearningRate = 2e-3 }, optimizer, 50, 10);
        // Optimizer steps never move it.
        for (int i = 0; i < 100; i++) policy.AfterOptimizerStep();
        policy.AfterEpoch(1.0);
        for (int bad = 1; bad <= 5; bad++)
        {
            policy.AfterEpoch(0.99995); // better by less than the relative threshold 1e-4: not an improvement
            policy.LearningRate.ShouldBe(BaseRate, $"after {bad} bad epochs");
        }
        policy.AfterEpoch(1.2);
        policy.LearningRate.ShouldBe(BaseRate * 0.1, 1e-15);
        // An improvement resets the count; the floor holds.
        policy.AfterEpoch(0.5);
        for (int bad = 0; bad < 12; bad++) policy.AfterEpoch(0.6);
        policy.LearningRate.ShouldBe(2e-3, 1e-15);
    }

    [Fact]
    public void CosineFollowsTheClosedFormPerStepDownToTheMinimum()
    {
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model, OptimizerKind.Adam);
        const double min = 1e-3;
        var policy = LrPolicy.Create(new LrPolicySettings { Kind = LrPolicyKind.Cosine, MinLearningRate = min }, optimizer, epochs: 4, stepsPerEpoch: 5);
        policy.TotalSteps.ShouldBe(20);
        for (int step = 0; step < 20; step++)
        {
            policy.LearningRate.ShouldBe(min + (BaseRate - min) * (1 + Math.Cos(Math.PI * step / 20)) / 2, 1e-12, $"step {step}");
            policy.AfterOptimizerStep();
            policy.AfterEpoch(1.0); // ignored
        }
        // Past the end it stays at the last value instead of climbing the next cosine period.
        double last = policy.LearningRate;
        for (int i = 0; i < 5; i++) policy.AfterOptimizerStep();
        policy.LearningRate.ShouldBe(last);
        last.ShouldBeLessThan(min + 0.01 * (BaseRate - min));
    }

    [Theory]
    [InlineData(OptimizerKind.Novograd)]
    [InlineData(OptimizerKind.Lion)]
    [InlineData(OptimizerKind.AdamW)]
    public void OneCycleWarmsUpToThePeakAndCyclesBeta1(OptimizerKind name)
    {
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model, name);
        var betas = (torch.optim.IBetas)optimizer.ParamGroups.Single();
        var policy = LrPolicy.Create(new LrPolicySettings { Kind = LrPolicyKind.OneCycle }, optimizer, epochs: 10, stepsPerEpoch: 10);
        policy.LearningRate.ShouldBe(BaseRate / 25, 1e-12);
        betas.Betas.Item1.ShouldBe(0.95, 1e-12);
        for (int i = 0; i < 29; i++) policy.AfterOptimizerStep();
        policy.LearningRate.ShouldBe(BaseRate, 1e-12);
        betas.Betas.Item1.ShouldBe(0.85, 1e-12);
        for (int i = 29; i < 99; i++) policy.AfterOptimizerStep();
        policy.LearningRate.ShouldBe(BaseRate / 25 / 1e4, 1e-12);
        betas.Betas.Item1.ShouldBe(0.95, 1e-12);
        policy.AfterOptimizerStep(); // the 100th step ends the run without throwing
    }

    [Fact]
    public void OneCycleLeavesSgdWithoutMomentumWithoutMomentum()
    {
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model, OptimizerKind.Sgd, momentum: 0);
        var policy = LrPolicy.Create(new LrPolicySettings { Kind = LrPolicyKind.OneCycle }, optimizer, 2, 10);
        for (int i = 0; i < 10; i++) policy.AfterOptimizerStep();
        ((torch.optim.IMomentum)optimizer).Momentum.ShouldBe(0);
        policy.LearningRate.ShouldBeGreaterThan(BaseRate / 25);
    }

    [Theory]
    [InlineData(LrPolicyKind.Plateau, true)]
    [InlineData(LrPolicyKind.Cosine, true)]
    [InlineData(LrPolicyKind.OneCycle, true)]
    [InlineData(LrPolicyKind.Plateau, false)]
    [InlineData(LrPolicyKind.Cosine, false)]
    [InlineData(LrPolicyKind.OneCycle, false)]
    public void ResumeReplaysToTheSameRateWhicheverWayTheOptimizerIsRestored(LrPolicyKind kind, bool optimizerStateFirst)
    {
        var settings = new LrPolicySettings { Kind = kind, PlateauPatience = 1 };
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model);
        var policy = LrPolicy.Create(settings, optimizer, epochs: 5, stepsPerEpoch: 7);
        double[] validationLosses = [1.0, 0.9, 0.95, 0.97];
        foreach (double loss in validationLosses)
        {
            for (int i = 0; i < 7; i++) policy.AfterOptimizerStep();
            policy.AfterEpoch(loss);
        }
        var state = policy.State;
        state.OptimizerSteps.ShouldBe(28);
        state.ValidationLosses.ShouldBe(validationLosses);
        using var saved = new MemoryStream();
        optimizer.save_state_dict(new BinaryWriter(saved));
        saved.Position = 0;

        using var resumedModel = nn.Linear(2, 1);
        using var resumedOptimizer = NewOptimizer(resumedModel);
        if (optimizerStateFirst) resumedOptimizer.load_state_dict(new BinaryReader(saved));
        var resumed = LrPolicy.Create(settings, resumedOptimizer, epochs: 5, stepsPerEpoch: 7, resumeFrom: state);
        if (!optimizerStateFirst) resumedOptimizer.load_state_dict(new BinaryReader(saved));

        resumed.LearningRate.ShouldBe(policy.LearningRate);
        policy.LearningRate.ShouldNotBe(BaseRate);
        ((Novograd)resumedOptimizer).Betas.ShouldBe(((Novograd)optimizer).Betas);
        // And both continue alike.
        policy.AfterOptimizerStep();
        resumed.AfterOptimizerStep();
        policy.AfterEpoch(0.99);
        resumed.AfterEpoch(0.99);
        resumed.LearningRate.ShouldBe(policy.LearningRate);
    }

    [Fact]
    public void NamesParseAndUnknownNamesAreRejected()
    {
        ChoiceNames.Names<LrPolicyKind>().Select(name => ChoiceNames.Parse<LrPolicyKind>(name, "lr-policy"))
            .ShouldBe([LrPolicyKind.Fixed, LrPolicyKind.Plateau, LrPolicyKind.Cosine, LrPolicyKind.OneCycle]);
        ChoiceNames.Name(LrPolicyKind.OneCycle).ShouldBe("one-cycle");
        ChoiceNames.Parse<LrPolicyKind>("onecycle", "lr-policy").ShouldBe(LrPolicyKind.OneCycle);
        Should.Throw<GreenSegException>(() => ChoiceNames.Parse<LrPolicyKind>("step", "lr-policy")).Message.ShouldContain("plateau");
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model);
        Should.Throw<GreenSegException>(() => LrPolicy.Create(new LrPolicySettings(), optimizer, 0, 10));
    }

    [Fact]
    public void SetInitialRateIsWhatSchedulesStartFrom()
    {
        using var model = nn.Linear(2, 1);
        using var optimizer = NewOptimizer(model);
        OptimizerLearningRate.SetInitial(optimizer, 0.02);
        var policy = LrPolicy.Create(new LrPolicySettings { Kind = LrPolicyKind.Cosine }, optimizer, 1, 10);
        policy.LearningRate.ShouldBe(0.02);
        for (int i = 0; i < 5; i++) policy.AfterOptimizerStep();
        policy.LearningRate.ShouldBe(0.01, 1e-12);
    }
}
