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
    public double ShiftProbability { get; init; } = 0;
    /// <summary>Largest translation along each axis, as a fraction of the slice size.</summary>
    public double MaxShiftFraction { get; init; } = 0.15;
    public double GammaProbability { get; init; } = 0.3;
    public double MinGamma { get; init; } = 0.7;
    public double MaxGamma { get; init; } = 1.5;
    /// <summary>
    /// Maps intensities through a random monotone curve (and, with <see cref="InvertProbability"/>, its
    /// mirror), so the network learns shape rather than one sequence's contrast: fetal brain is bright
    /// on DWI and dark against bright fluid on T2W.
    /// </summary>
    public double IntensityCurveProbability { get; init; } = 0;
    /// <summary>Chance that a drawn intensity curve is descending (contrast inverted).</summary>
    public double InvertProbability { get; init; } = 0.5;
    /// <summary>Inner knots of the piecewise-linear intensity curve (equally spaced on the min-max scaled image).</summary>
    public int IntensityCurveKnots { get; init; } = 3;
    public double NoiseProbability { get; init; } = 0.15;
    /// <summary>Largest standard deviation of added Gaussian noise, in z-score units.</summary>
    public double MaxNoiseSigma { get; init; } = 0.1;
    public double BiasFieldProbability { get; init; } = 0.3;
    /// <summary>Largest coefficient of the log bias field's quadratic polynomial over the slice (coordinates in [-1, 1]).</summary>
    public double MaxBiasFieldStrength { get; init; } = 0.3;
    /// <summary>
    /// Resamples the real slice down by a random factor and back up, as a coarser in-plane acquisition (3 mm
    /// pixels where training stacks have 1-2.3 mm) would give; the same resolution loss synthetic renderings get,
    /// without redrawing the contrast. Last, after the noise, as in an acquisition.
    /// </summary>
    public double ResolutionLossProbability { get; init; }
    /// <summary>Largest resolution-loss factor (the slice resampled down by a factor in [1, this]).</summary>
    public double MaxResolutionLossFactor { get; init; } = 2.5;
    /// <summary>
    /// Replaces the image by a synthetic rendering of its intensity classes (<see cref="SyntheticContrast"/>)
    /// before the other augmentations: domain randomisation as in SynthSeg, so no one sequence's contrast is learnt.
    /// </summary>
    public double SyntheticContrastProbability { get; init; }
    /// <summary>Intensity classes per slice, the brain's included; each gets its own random intensity when rendered.</summary>
    public int SyntheticContrastClasses { get; init; } = 6;
    /// <summary>Of those, the classes that only brain-mask voxels fall into, so the brain stays a region of its own.</summary>
    public int SyntheticContrastBrainClasses { get; init; } = 2;
    /// <summary>Largest texture (noise) standard deviation within a class; class means are drawn in [0, 1].</summary>
    public double SyntheticContrastMaxClassStd { get; init; } = 0.12;
    /// <summary>Largest Gaussian blur of the rendering, in pixels.</summary>
    public double SyntheticContrastMaxBlurSigma { get; init; } = 1.5;
    /// <summary>Largest resolution loss: the rendering is resampled down by a factor in [1, this] and back up.</summary>
    public double SyntheticContrastMaxDownsampleFactor { get; init; } = 3;

    /// <summary>No augmentation at all.</summary>
    public static AugmentationOptions None { get; } = new()
    {
        FlipXProbability = 0, FlipYProbability = 0, RotationProbability = 0, ScaleProbability = 0, ShiftProbability = 0,
        GammaProbability = 0, NoiseProbability = 0, BiasFieldProbability = 0, IntensityCurveProbability = 0,
    };

    public void Validate()
    {
        foreach ((string name, double p) in new[]
        {
            (nameof(FlipXProbability), FlipXProbability), (nameof(FlipYProbability), FlipYProbability),
            (nameof(RotationProbability), RotationProbability), (nameof(ScaleProbability), ScaleProbability),
            (nameof(ShiftProbability), ShiftProbability),
            (nameof(GammaProbability), GammaProbability), (nameof(NoiseProbability), NoiseProbability),
            (nameof(IntensityCurveProbability), IntensityCurveProbability), (nameof(InvertProbability), InvertProbability),
            (nameof(BiasFieldProbability), BiasFieldProbability), (nameof(SyntheticContrastProbability), SyntheticContrastProbability),
            (nameof(ResolutionLossProbability), ResolutionLossProbability),
        })
            if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(name, p, "a probability must be in [0, 1]");
        Require(MaxRotationDegrees is >= 0 and <= 180, nameof(MaxRotationDegrees), "must be in [0, 180]");
        Require(MinScale > 0 && MinScale <= MaxScale && double.IsFinite(MaxScale), nameof(MinScale), "need 0 < MinScale <= MaxScale");
        Require(MaxShiftFraction is >= 0 and <= 0.5, nameof(MaxShiftFraction), "must be in [0, 0.5]");
        Require(IntensityCurveKnots is >= 0 and <= 64, nameof(IntensityCurveKnots), "must be in [0, 64]");
        Require(MinGamma > 0 && MinGamma <= MaxGamma && double.IsFinite(MaxGamma), nameof(MinGamma), "need 0 < MinGamma <= MaxGamma");
        Require(MaxNoiseSigma >= 0 && double.IsFinite(MaxNoiseSigma), nameof(MaxNoiseSigma), "must be >= 0");
        Require(MaxBiasFieldStrength >= 0 && double.IsFinite(MaxBiasFieldStrength), nameof(MaxBiasFieldStrength), "must be >= 0");
        Require(SyntheticContrastBrainClasses is >= 1 and <= 2, nameof(SyntheticContrastBrainClasses), "must be 1 or 2");
        Require(SyntheticContrastClasses > SyntheticContrastBrainClasses && SyntheticContrastClasses <= IntensityClasses.MaxCount,
            nameof(SyntheticContrastClasses), $"must exceed the brain classes (at least one background class) and be at most {IntensityClasses.MaxCount}");
        Require(SyntheticContrastMaxClassStd is >= 0 and <= 1, nameof(SyntheticContrastMaxClassStd), "must be in [0, 1]");
        // The blur kernel lives on the stack: a few pixels of sigma is all a 2D slice needs.
        Require(SyntheticContrastMaxBlurSigma is >= 0 and <= 8, nameof(SyntheticContrastMaxBlurSigma), "must be in [0, 8] pixels");
        Require(SyntheticContrastMaxDownsampleFactor is >= 1 and <= 8, nameof(SyntheticContrastMaxDownsampleFactor), "must be in [1, 8]");
        Require(MaxResolutionLossFactor is >= 1 and <= 8, nameof(MaxResolutionLossFactor), "must be in [1, 8]");
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition) throw new ArgumentOutOfRangeException(name, problem);
    }
}

/// <summary>
/// What one augmentation call drew (identity values where an augmentation was not applied).
/// BiasCoefficients multiply x, y, x², xy, y² of the log bias field; NoiseSeed seeds the noise values;
/// ShiftX and ShiftY move the content by that fraction of the slice's width and height; IntensityCurve
/// holds the curve's values at equally spaced points of [0, 1] from 0 to 1 inclusive (empty: no curve);
/// SyntheticContrastSeed, when set, seeds the <see cref="SyntheticContrast"/> rendering that replaces the image first;
/// ResolutionLossFactor resamples the image down by that factor and back up last (1: not applied).
/// </summary>
public sealed record AugmentationParameters(
    bool FlipX,
    bool FlipY,
    double RotationDegrees,
    double Scale,
    double Gamma,
    double NoiseSigma,
    double[] BiasCoefficients,
    ulong NoiseSeed,
    double ShiftX = 0,
    double ShiftY = 0,
    double[]? IntensityCurve = null,
    ulong? SyntheticContrastSeed = null,
    double ResolutionLossFactor = 1)
{
    public bool IsSpatialIdentity => !FlipX && !FlipY && RotationDegrees == 0 && Scale == 1 && ShiftX == 0 && ShiftY == 0;
}
