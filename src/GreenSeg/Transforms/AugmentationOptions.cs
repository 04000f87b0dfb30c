namespace GreenSeg.Transforms;

/// <summary>
/// Random training augmentations of a preprocessed (z-scored) image and its mask, each applied with
/// its own probability. Angles in degrees; scale &gt; 1 zooms in.
/// </summary>
public sealed record AugmentationOptions
{
    public double FlipXProbability { get; init; } = 0.5;
    public double FlipYProbability { get; init; } = 0.5;
    public double RotationProbability { get; init; } = 0.3;
    public double MaxRotationDegrees { get; init; } = 15;
    public double ScaleProbability { get; init; } = 0.3;
    public double MinScale { get; init; } = 0.85;
    public double MaxScale { get; init; } = 1.15;
    public double GammaProbability { get; init; } = 0.3;
    public double MinGamma { get; init; } = 0.7;
    public double MaxGamma { get; init; } = 1.5;
    public double NoiseProbability { get; init; } = 0.15;
    /// <summary>Largest standard deviation of added Gaussian noise, in z-score units.</summary>
    public double MaxNoiseSigma { get; init; } = 0.1;
    public double BiasFieldProbability { get; init; } = 0.3;
    /// <summary>Largest coefficient of the log bias field's quadratic polynomial over the slice (coordinates in [-1, 1]).</summary>
    public double MaxBiasFieldStrength { get; init; } = 0.3;

    /// <summary>No augmentation at all.</summary>
    public static AugmentationOptions None { get; } = new()
    {
        FlipXProbability = 0, FlipYProbability = 0, RotationProbability = 0, ScaleProbability = 0,
        GammaProbability = 0, NoiseProbability = 0, BiasFieldProbability = 0,
    };

    public void Validate()
    {
        foreach ((string name, double p) in new[]
        {
            (nameof(FlipXProbability), FlipXProbability), (nameof(FlipYProbability), FlipYProbability),
            (nameof(RotationProbability), RotationProbability), (nameof(ScaleProbability), ScaleProbability),
            (nameof(GammaProbability), GammaProbability), (nameof(NoiseProbability), NoiseProbability),
            (nameof(BiasFieldProbability), BiasFieldProbability),
        })
            if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(name, p, "a probability must be in [0, 1]");
        Require(MaxRotationDegrees is >= 0 and <= 180, nameof(MaxRotationDegrees), "must be in [0, 180]");
        Require(MinScale > 0 && MinScale <= MaxScale && double.IsFinite(MaxScale), nameof(MinScale), "need 0 < MinScale <= MaxScale");
        Require(MinGamma > 0 && MinGamma <= MaxGamma && double.IsFinite(MaxGamma), nameof(MinGamma), "need 0 < MinGamma <= MaxGamma");
        Require(MaxNoiseSigma >= 0 && double.IsFinite(MaxNoiseSigma), nameof(MaxNoiseSigma), "must be >= 0");
        Require(MaxBiasFieldStrength >= 0 && double.IsFinite(MaxBiasFieldStrength), nameof(MaxBiasFieldStrength), "must be >= 0");
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition) throw new ArgumentOutOfRangeException(name, problem);
    }
}

/// <summary>
/// What one augmentation call drew (identity values where an augmentation was not applied).
/// BiasCoefficients multiply x, y, x², xy, y² of the log bias field; NoiseSeed seeds the noise values.
/// </summary>
public sealed record AugmentationParameters(
    bool FlipX,
    bool FlipY,
    double RotationDegrees,
    double Scale,
    double Gamma,
    double NoiseSigma,
    double[] BiasCoefficients,
    ulong NoiseSeed)
{
    public bool IsSpatialIdentity => !FlipX && !FlipY && RotationDegrees == 0 && Scale == 1;
}
