using static TorchSharp.torch;

namespace GreenSeg.Training.Losses;

/// <summary>Weighted sum diceWeight·Dice + bceWeight·BCE: Dice for overlap, BCE for well-behaved early gradients.</summary>
public sealed class DiceBceLoss(DiceLoss dice, double diceWeight = 1.0, double bceWeight = 1.0) : SegmentationLoss
{
    private readonly BceLoss _bce = new();

    public DiceLoss Dice { get; } = dice;
    public double DiceWeight { get; } = diceWeight >= 0 ? diceWeight : throw new ArgumentOutOfRangeException(nameof(diceWeight), diceWeight, "weight must be >= 0");
    public double BceWeight { get; } = bceWeight >= 0 ? bceWeight : throw new ArgumentOutOfRangeException(nameof(bceWeight), bceWeight, "weight must be >= 0");

    public override string Name => "dice-bce";

    protected override Tensor ComputeFp32(Tensor logits, Tensor target) =>
        DiceWeight * Dice.Compute(logits, target) + BceWeight * _bce.Compute(logits, target);
}
