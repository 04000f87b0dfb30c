using System.Runtime.Serialization;
using GreenSeg.Common;

namespace GreenSeg.Training.Losses;

/// <summary>Hyperparameters of the losses; each loss reads only its own.</summary>
public sealed record LossSettings
{
    public double DiceSmooth { get; init; } = DiceLoss.DefaultSmooth;
    /// <summary>Dice per sample, averaged, instead of one Dice over the whole batch.</summary>
    public bool DicePerSample { get; init; }
    public double DiceWeight { get; init; } = 1.0;
    public double BceWeight { get; init; } = 1.0;
    /// <summary>Foreground weight of the focal loss; null = no class weighting.</summary>
    public double? FocalAlpha { get; init; } = FocalLoss.DefaultAlpha;
    public double FocalGamma { get; init; } = FocalLoss.DefaultGamma;

    public LossSettings Validate()
    {
        Check(DiceSmooth >= 0 && double.IsFinite(DiceSmooth), nameof(DiceSmooth), DiceSmooth, "must be a finite number >= 0");
        Check(DiceWeight >= 0 && double.IsFinite(DiceWeight), nameof(DiceWeight), DiceWeight, "must be a finite number >= 0");
        Check(BceWeight >= 0 && double.IsFinite(BceWeight), nameof(BceWeight), BceWeight, "must be a finite number >= 0");
        Check(FocalAlpha is null or (>= 0 and <= 1), nameof(FocalAlpha), FocalAlpha, "must lie in [0, 1] (or be empty: no class weighting)");
        Check(FocalGamma >= 0 && double.IsFinite(FocalGamma), nameof(FocalGamma), FocalGamma, "must be a finite number >= 0");
        return this;
    }

    private static void Check(bool ok, string name, object? value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, rule);
    }
}

/// <summary>Which loss trains the network (the config's <c>optimisation: loss:</c>).</summary>
public enum LossKind
{
    [EnumMember(Value = "dice")] Dice,
    /// <summary>Dice plus binary cross-entropy, each weighted (<see cref="LossSettings.DiceWeight"/>, <see cref="LossSettings.BceWeight"/>).</summary>
    [EnumMember(Value = "dice-bce")] DiceBce,
    [EnumMember(Value = "bce")] Bce,
    [EnumMember(Value = "focal")] Focal,
}

/// <summary>Creates a loss: dice, dice-bce, bce, focal.</summary>
public static class LossFactory
{
    public static SegmentationLoss Create(LossKind kind, LossSettings? settings = null)
    {
        settings ??= new LossSettings();
        return kind switch
        {
            LossKind.Dice => CreateDice(settings),
            LossKind.DiceBce => new DiceBceLoss(CreateDice(settings), settings.DiceWeight, settings.BceWeight),
            LossKind.Bce => new BceLoss(),
            LossKind.Focal => new FocalLoss(settings.FocalAlpha, settings.FocalGamma),
            _ => throw new GreenSegException($"loss '{kind}': unknown; {ChoiceNames.Expected(typeof(LossKind))}"),
        };
    }

    private static DiceLoss CreateDice(LossSettings settings) => new(settings.DiceSmooth, settings.DicePerSample);
}
