using GreenSeg.Common;

namespace GreenSeg.Transforms;

/// <summary>
/// Draws a new image of a slice from its intensity classes (<see cref="IntensityClasses"/>), the domain
/// randomisation of SynthSeg (Billot et al. 2023) and SynthStrip (Hoopes et al. 2022): every class a
/// random mean in [0, 1] with Gaussian texture of a random spread, then a random Gaussian blur, the
/// augmenter's bias field, gamma and noise (always applied, drawn within their options' ranges), a random
/// resolution loss (bilinear down by a factor in [1, max] and back up, as a coarser acquisition would
/// give) and the intensity normalisation real slices get (<see cref="Normalization"/>), so renderings and
/// real slices share one input scale. Only intensities are drawn: the
/// slice's mask is untouched. The same seed gives the same image. Thread-safe.
/// </summary>
public sealed class SyntheticContrast
{
    private readonly Augmenter _corruption;

    public AugmentationOptions Options { get; }
    public IntensityNormalization Normalization { get; }

    public SyntheticContrast(AugmentationOptions options, IntensityNormalization normalization = IntensityNormalization.ZScoreNonzero)
    {
        options.Validate();
        Options = options;
        Normalization = normalization;
        _corruption = new Augmenter(AugmentationOptions.None with
        {
            BiasFieldProbability = 1, MaxBiasFieldStrength = options.MaxBiasFieldStrength,
            GammaProbability = 1, MinGamma = options.MinGamma, MaxGamma = options.MaxGamma,
            NoiseProbability = 1, MaxNoiseSigma = options.MaxNoiseSigma,
        });
    }

    public float[] Render(ReadOnlySpan<byte> classes, int width, int height, ulong seed)
    {
        var image = new float[classes.Length];
        Render(classes, width, height, seed, image);
        return image;
    }

    /// <summary>Renders into a caller-owned width x height buffer.</summary>
    public void Render(ReadOnlySpan<byte> classes, int width, int height, ulong seed, Span<float> imageOut)
    {
        int length = width * height;
        if (width < 1 || height < 1 || classes.Length != length || imageOut.Length != length)
            throw new ArgumentException($"classes and output must hold {width}x{height} values");
        AugmentationOptions o = Options;
        var random = new DeterministicRandom(seed);
        int count = o.SyntheticContrastClasses;
        var means = new float[count];
        var spreads = new float[count];
        for (int c = 0; c < count; c++)
        {
            means[c] = (float)random.NextDouble();
            spreads[c] = (float)random.Uniform(0, o.SyntheticContrastMaxClassStd);
        }
        var texture = new DeterministicRandom(random.NextUInt64());
        float blurSigma = (float)random.Uniform(0, o.SyntheticContrastMaxBlurSigma);
        AugmentationParameters corruption = _corruption.Draw(random.NextUInt64());
        double downsampleFactor = random.Uniform(1, o.SyntheticContrastMaxDownsampleFactor);

        var painted = new float[length];
        for (int i = 0; i < length; i++)
        {
            int c = classes[i];
            if (c == IntensityClasses.OutsideFieldOfView) continue;
            if (c >= count) throw new ArgumentException($"class {c} at index {i}, but the options give {count} classes (synthetic-contrast-classes)", nameof(classes));
            painted[i] = means[c] + spreads[c] * (float)texture.NextGaussian();
        }
        if (blurSigma > 0f) GaussianBlur.Apply(painted, width, height, blurSigma);
        Augmenter.Apply(corruption, painted, [], width, height, imageOut, []);
        AxisTaps.LoseResolution(imageOut, width, height, downsampleFactor);
        Normalize(imageOut, classes);
    }

    /// <summary>
    /// The run's normalisation over the field of view (a z-score over every voxel there: the rendering has no
    /// zero background to leave out); padding then reads 0, as padding of a real slice does.
    /// </summary>
    private void Normalize(Span<float> image, ReadOnlySpan<byte> classes)
    {
        // Most slices fill the canvas: normalise in place; only padded ones gather the field of view first.
        int inside = 0;
        foreach (byte c in classes)
            if (c != IntensityClasses.OutsideFieldOfView) inside++;
        if (inside == image.Length)
        {
            NormalizeValues(image);
            return;
        }
        var values = new float[inside];
        for (int i = 0, k = 0; i < image.Length; i++)
            if (classes[i] != IntensityClasses.OutsideFieldOfView) values[k++] = image[i];
        NormalizeValues(values);
        for (int i = 0, k = 0; i < image.Length; i++)
            image[i] = classes[i] != IntensityClasses.OutsideFieldOfView ? values[k++] : 0f;
    }

    private void NormalizeValues(Span<float> values)
    {
        if (Normalization != IntensityNormalization.ZScoreNonzero)
        {
            SlicePreprocessor.Normalize(values, Normalization);
            return;
        }
        (double mean, double std) = Augmenter.MeanStd(values);
        float inverseStd = std > 1e-12 ? (float)(1 / std) : 0f; // a flat rendering becomes all zeros
        for (int k = 0; k < values.Length; k++) values[k] = (float)(values[k] - mean) * inverseStd;
    }
}
