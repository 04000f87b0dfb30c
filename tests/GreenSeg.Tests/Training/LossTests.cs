using GreenSeg.Common;
using GreenSeg.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

public class LossTests
{
    private static double Value(SegmentationLoss loss, float[] logits, float[] target, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        return loss.Compute(torch.tensor(logits).reshape(shape), torch.tensor(target).reshape(shape)).ToDouble();
    }

    private static double Softplus(double x) => Math.Log(1 + Math.Exp(x));

    [Fact]
    public void DiceOfAPerfectPredictionIsAboutZero()
    {
        float[] target = [1, 0, 0, 1, 1, 0, 0, 0];
        float[] logits = target.Select(t => t > 0 ? 30f : -30f).ToArray();
        Value(new DiceLoss(), logits, target, [2, 1, 2, 2]).ShouldBeLessThan(1e-6);
        Value(new DiceLoss(perSample: true), logits, target, [2, 1, 2, 2]).ShouldBeLessThan(1e-6);
        // The opposite prediction scores the worst Dice.
        Value(new DiceLoss(), logits.Select(l => -l).ToArray(), target, [2, 1, 2, 2]).ShouldBeGreaterThan(1 - 1e-5);
    }

    [Fact]
    public void DiceOverTheBatchAndPerSampleMatchHandValues()
    {
        // Logits 0 give p = 0.5 everywhere. Sample 1: 3 of 4 pixels foreground; sample 2: empty mask.
        float[] target = [1, 1, 1, 0, 0, 0, 0, 0];
        float[] logits = new float[8];
        const double smooth = 1.0;
        // Batch: Σp·t = 1.5, Σp = 4, Σt = 3.
        double batch = 1 - (2 * 1.5 + smooth) / (4 + 3 + smooth);
        // Per sample: (1 - (3 + 1)/(2 + 3 + 1)) and (1 - (0 + 1)/(2 + 0 + 1)), averaged.
        double perSample = ((1 - 4.0 / 6) + (1 - 1.0 / 3)) / 2;
        Value(new DiceLoss(smooth), logits, target, [2, 1, 2, 2]).ShouldBe(batch, 1e-6);
        Value(new DiceLoss(smooth, perSample: true), logits, target, [2, 1, 2, 2]).ShouldBe(perSample, 1e-6);
    }

    [Fact]
    public void BceMatchesTheHandValue()
    {
        // BCE(x, 1) = softplus(-x), BCE(x, 0) = softplus(x).
        float[] logits = [0, 2, -1, 3];
        float[] target = [1, 0, 0, 1];
        double expected = (Softplus(0) + Softplus(2) + Softplus(-1) + Softplus(-3)) / 4;
        Value(new BceLoss(), logits, target, [1, 1, 2, 2]).ShouldBe(expected, 1e-6);
    }

    [Fact]
    public void FocalWithGammaZeroAndNoAlphaIsBce()
    {
        float[] logits = [0.3f, -2, 1.5f, 4, -0.7f, 0];
        float[] target = [1, 0, 0, 1, 1, 0];
        Value(new FocalLoss(alpha: null, gamma: 0), logits, target, [1, 1, 2, 3])
            .ShouldBe(Value(new BceLoss(), logits, target, [1, 1, 2, 3]), 1e-7);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(2.0)]
    public void FocalStaysFiniteForExtremeLogits(double gamma)
    {
        // sigmoid(±200) is exactly 0 or 1 in fp32: a log(sigmoid) formulation would give infinities here.
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(new[] { 200f, -200f, 200f, -200f }).reshape(1, 1, 2, 2).requires_grad_();
        var loss = new FocalLoss(0.25, gamma).Compute(logits, torch.tensor(new[] { 1f, 0f, 0f, 1f }).reshape(1, 1, 2, 2));
        // Two confidently wrong pixels (BCE 200 each, focusing factor 1) dominate: (0.75·200 + 0.25·200)/4 = 50.
        loss.ToDouble().ShouldBe(50, 1e-3);
        loss.backward();
        logits.grad!.data<float>().ToArray().ShouldAllBe(g => float.IsFinite(g));
    }

    [Fact]
    public void FocalMatchesTheHandValue()
    {
        // x = 0, t = 1: p_t = 0.5, BCE = ln 2, weight α(1 - 0.5)² = 0.25·0.25.
        // x = 2, t = 0: p_t = 1 - σ(2), BCE = softplus(2), weight (1 - α)·σ(2)².
        double sigmoid2 = 1 / (1 + Math.Exp(-2));
        double expected = (0.25 * 0.25 * Math.Log(2) + 0.75 * sigmoid2 * sigmoid2 * Softplus(2)) / 2;
        Value(new FocalLoss(alpha: 0.25, gamma: 2), [0, 2], [1, 0], [1, 1, 1, 2]).ShouldBe(expected, 1e-6);
    }

    [Fact]
    public void DiceBceIsTheWeightedSum()
    {
        float[] logits = [0.3f, -2, 1.5f, 4];
        float[] target = [1, 0, 0, 1];
        long[] shape = [1, 1, 2, 2];
        double dice = Value(new DiceLoss(), logits, target, shape);
        double bce = Value(new BceLoss(), logits, target, shape);
        Value(new DiceBceLoss(new DiceLoss(), 0.7, 0.3), logits, target, shape).ShouldBe(0.7 * dice + 0.3 * bce, 1e-6);
    }

    [Theory]
    [InlineData(LossKind.Dice)]
    [InlineData(LossKind.DiceBce)]
    [InlineData(LossKind.Bce)]
    [InlineData(LossKind.Focal)]
    public void LossesAreFp32FromBf16LogitsAndGiveGradients(LossKind kind)
    {
        using var scope = torch.NewDisposeScope();
        var loss = LossFactory.Create(kind);
        loss.Name.ShouldBe(ChoiceNames.Name(kind));
        using var generator = new Generator(11);
        var logits = torch.randn([2, 1, 8, 8], generator: generator);
        var target = torch.rand([2, 1, 8, 8], generator: generator).gt(0.5).to_type(ScalarType.Byte);
        var bf16Logits = logits.to_type(ScalarType.BFloat16).requires_grad_();
        var fromBf16 = loss.Compute(bf16Logits, target);
        fromBf16.dtype.ShouldBe(ScalarType.Float32);
        fromBf16.shape.ShouldBeEmpty();
        // The only difference is the bf16 rounding of the logits themselves.
        fromBf16.ToDouble().ShouldBe(loss.Compute(bf16Logits.detach().to_type(ScalarType.Float32), target).ToDouble(), 1e-6);
        fromBf16.ToDouble().ShouldBe(loss.Compute(logits, target).ToDouble(), 2e-2);
        fromBf16.backward();
        bf16Logits.grad.ShouldNotBeNull();
        bf16Logits.grad.abs().sum().ToDouble().ShouldBeGreaterThan(0);
    }

    [Fact]
    public void FactoryPassesSettingsAndRejectsUnknownNames()
    {
        var dice = (DiceLoss)LossFactory.Create(LossKind.Dice, new LossSettings { DiceSmooth = 0.5, DicePerSample = true });
        dice.Smooth.ShouldBe(0.5);
        dice.PerSample.ShouldBeTrue();
        var combined = (DiceBceLoss)LossFactory.Create(LossKind.DiceBce, new LossSettings { DiceWeight = 2, BceWeight = 0.5 });
        (combined.DiceWeight, combined.BceWeight).ShouldBe((2.0, 0.5));
        var focal = (FocalLoss)LossFactory.Create(LossKind.Focal, new LossSettings { FocalAlpha = null, FocalGamma = 1 });
        (focal.Alpha, focal.Gamma).ShouldBe(((double?)null, 1.0));
        Should.Throw<GreenSegException>(() => ChoiceNames.Parse<LossKind>("tversky", "loss")).Message.ShouldContain("dice-bce");
        Should.Throw<GreenSegException>(() => LossFactory.Create((LossKind)42)).Message.ShouldContain("dice-bce");
    }

    [Fact]
    public void MismatchedShapesAreRejected()
    {
        using var scope = torch.NewDisposeScope();
        Should.Throw<ArgumentException>(() => new BceLoss().Compute(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5)));
    }
}
