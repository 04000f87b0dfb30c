using GreenSeg.Common;

namespace GreenSeg.Transforms;

/// <summary>
/// Seeded training augmentation of an image/mask pair on the preprocessed canvas: optionally a synthetic
/// contrast first (the image redrawn from its intensity classes), then flips, rotation and
/// scaling about the centre in one resampling (bilinear for the image, nearest for the mask, zero
/// outside), then a smooth multiplicative bias field, gamma, an intensity curve, Gaussian noise and a
/// resolution loss on the image. The same seed gives the same output; every parameter is drawn whether
/// or not its augmentation fires, so changing one probability does not change the others' draws. Thread-safe.
/// </summary>
public sealed class Augmenter
{
    public const int BiasTerms = 5;

    public AugmentationOptions Options { get; }
    private readonly SyntheticContrast? _syntheticContrast;

    /// <param name="normalization">The preprocessing's normalisation, which synthetic renderings end with too.</param>
    public Augmenter(AugmentationOptions options, IntensityNormalization normalization = IntensityNormalization.ZScoreNonzero)
    {
        options.Validate();
        Options = options;
        _syntheticContrast = options.SyntheticContrastProbability > 0 ? new SyntheticContrast(options, normalization) : null;
    }

    /// <summary>Draws the parameters of one augmentation in a fixed order.</summary>
    public AugmentationParameters Draw(ulong seed)
    {
        var random = new DeterministicRandom(seed);
        AugmentationOptions o = Options;
        bool flipX = random.Chance(o.FlipXProbability);
        bool flipY = random.Chance(o.FlipYProbability);
        bool rotate = random.Chance(o.RotationProbability);
        double angle = random.Uniform(-o.MaxRotationDegrees, o.MaxRotationDegrees);
        bool scale = random.Chance(o.ScaleProbability);
        double factor = Math.Exp(random.Uniform(Math.Log(o.MinScale), Math.Log(o.MaxScale))); // zooming in and out equally likely
        bool bias = random.Chance(o.BiasFieldProbability);
        var coefficients = new double[BiasTerms];
        for (int k = 0; k < BiasTerms; k++) coefficients[k] = random.Uniform(-o.MaxBiasFieldStrength, o.MaxBiasFieldStrength);
        bool gamma = random.Chance(o.GammaProbability);
        // Half the draws darken, half brighten, as in nnU-Net.
        double gammaValue = random.Chance(0.5) ? random.Uniform(o.MinGamma, Math.Min(1, o.MaxGamma)) : random.Uniform(Math.Max(1, o.MinGamma), o.MaxGamma);
        bool noise = random.Chance(o.NoiseProbability);
        double sigma = random.Uniform(0, o.MaxNoiseSigma);
        ulong noiseSeed = random.NextUInt64();
        // Shift and intensity curve are drawn last, so adding them left every earlier draw of a seed as it was.
        bool shift = random.Chance(o.ShiftProbability);
        double shiftX = random.Uniform(-o.MaxShiftFraction, o.MaxShiftFraction);
        double shiftY = random.Uniform(-o.MaxShiftFraction, o.MaxShiftFraction);
        bool curve = random.Chance(o.IntensityCurveProbability);
        double[] knots = DrawCurve(random, o.IntensityCurveKnots, random.Chance(o.InvertProbability));
        // Synthetic contrast comes after those, for the same reason.
        bool synthetic = random.Chance(o.SyntheticContrastProbability);
        ulong syntheticSeed = random.NextUInt64();
        // The resolution loss after those, for the same reason.
        bool loseResolution = random.Chance(o.ResolutionLossProbability);
        double resolutionLoss = random.Uniform(1, o.MaxResolutionLossFactor);
        return new AugmentationParameters(flipX, flipY, rotate ? angle : 0, scale ? factor : 1, gamma ? gammaValue : 1,
            noise ? sigma : 0, bias ? coefficients : new double[BiasTerms], noiseSeed, shift ? shiftX : 0, shift ? shiftY : 0,
            curve ? knots : [], synthetic ? syntheticSeed : null, loseResolution ? resolutionLoss : 1);
    }

    /// <summary>A monotone curve from 0 to 1 (or 1 to 0 when inverted) through sorted random inner values.</summary>
    private static double[] DrawCurve(DeterministicRandom random, int innerKnots, bool invert)
    {
        var values = new double[innerKnots + 2];
        for (int k = 1; k <= innerKnots; k++) values[k] = random.NextDouble();
        values[^1] = 1;
        Array.Sort(values);
        if (invert) Array.Reverse(values);
        return values;
    }

    /// <summary>Augments into new arrays; mask may be empty (image only).</summary>
    /// <param name="classes">The image's <see cref="IntensityClasses"/>; needed only when synthetic contrast is drawn.</param>
    public AugmentedSlice Augment(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int width, int height, ulong seed,
        ReadOnlySpan<byte> classes = default)
    {
        var imageOut = new float[image.Length];
        byte[]? maskOut = mask.IsEmpty ? null : new byte[mask.Length];
        AugmentationParameters parameters = Augment(image, mask, width, height, seed, imageOut, maskOut, classes);
        return new AugmentedSlice(imageOut, maskOut, parameters);
    }

    /// <summary>Augments into caller-owned buffers (which must not overlap the inputs).</summary>
    /// <param name="classes">The image's <see cref="IntensityClasses"/>; needed only when synthetic contrast is drawn.</param>
    public AugmentationParameters Augment(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int width, int height, ulong seed,
        Span<float> imageOut, Span<byte> maskOut, ReadOnlySpan<byte> classes = default)
    {
        AugmentationParameters parameters = Draw(seed);
        if (parameters.SyntheticContrastSeed is ulong syntheticSeed)
        {
            if (classes.IsEmpty) throw new ArgumentException("synthetic contrast needs the slice's intensity classes", nameof(classes));
            image = _syntheticContrast!.Render(classes, width, height, syntheticSeed);
        }
        Apply(parameters, image, mask, width, height, imageOut, maskOut);
        return parameters;
    }

    /// <summary>Applies given parameters (a pure function of its inputs) except the synthetic contrast, which needs the intensity classes.</summary>
    public static void Apply(AugmentationParameters parameters, ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int width, int height,
        Span<float> imageOut, Span<byte> maskOut)
    {
        int length = width * height;
        if (width < 1 || height < 1 || image.Length != length || imageOut.Length != length)
            throw new ArgumentException($"image and output must hold {width}x{height} values");
        if (mask.Length != maskOut.Length || (!mask.IsEmpty && mask.Length != length))
            throw new ArgumentException($"mask and mask output must both hold {width}x{height} values, or both be empty");

        if (parameters.IsSpatialIdentity)
        {
            image.CopyTo(imageOut);
            mask.CopyTo(maskOut);
        }
        else
        {
            Warp(parameters, image, mask, width, height, imageOut, maskOut);
        }
        if (parameters.BiasCoefficients.Any(c => c != 0)) BiasField(parameters.BiasCoefficients, imageOut, width, height);
        if (parameters.Gamma != 1) Gamma(imageOut, parameters.Gamma);
        if (parameters.IntensityCurve is { Length: >= 2 } curve) IntensityCurve(imageOut, curve);
        if (parameters.NoiseSigma > 0)
        {
            var random = new DeterministicRandom(parameters.NoiseSeed);
            float sigma = (float)parameters.NoiseSigma;
            for (int i = 0; i < imageOut.Length; i++) imageOut[i] += sigma * (float)random.NextGaussian();
        }
        if (parameters.ResolutionLossFactor != 1) AxisTaps.LoseResolution(imageOut, width, height, parameters.ResolutionLossFactor);
    }

    /// <summary>Inverse mapping: each output pixel reads the input at F⁻¹ S⁻¹ R⁻¹ (p - centre - shift) + centre.</summary>
    private static void Warp(AugmentationParameters p, ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int width, int height,
        Span<float> imageOut, Span<byte> maskOut)
    {
        double radians = p.RotationDegrees * Math.PI / 180.0;
        double cos = Math.Cos(radians), sin = Math.Sin(radians);
        double fx = p.FlipX ? -1 : 1, fy = p.FlipY ? -1 : 1;
        float m00 = (float)(fx * cos / p.Scale), m01 = (float)(fx * sin / p.Scale);
        float m10 = (float)(-fy * sin / p.Scale), m11 = (float)(fy * cos / p.Scale);
        float cx = (width - 1) / 2f, cy = (height - 1) / 2f;
        float tx = (float)(p.ShiftX * width), ty = (float)(p.ShiftY * height);
        bool hasMask = !mask.IsEmpty;
        for (int y = 0; y < height; y++)
        {
            float dy = y - cy - ty;
            for (int x = 0; x < width; x++)
            {
                float dx = x - cx - tx;
                float u = m00 * dx + m01 * dy + cx;
                float v = m10 * dx + m11 * dy + cy;
                int i = x + width * y;
                imageOut[i] = Bilinear(image, width, height, u, v);
                if (hasMask)
                {
                    int nx = (int)MathF.Floor(u + 0.5f), ny = (int)MathF.Floor(v + 0.5f);
                    maskOut[i] = nx >= 0 && ny >= 0 && nx < width && ny < height ? mask[nx + width * ny] : (byte)0;
                }
            }
        }
    }

    private static float Bilinear(ReadOnlySpan<float> image, int width, int height, float u, float v)
    {
        int x0 = (int)MathF.Floor(u), y0 = (int)MathF.Floor(v);
        float wx = u - x0, wy = v - y0;
        float top = Lerp(Tap(image, width, height, x0, y0), Tap(image, width, height, x0 + 1, y0), wx);
        if (wy == 0f) return top;
        float bottom = Lerp(Tap(image, width, height, x0, y0 + 1), Tap(image, width, height, x0 + 1, y0 + 1), wx);
        return top + (bottom - top) * wy;
    }

    private static float Tap(ReadOnlySpan<float> image, int width, int height, int x, int y) =>
        x < 0 || y < 0 || x >= width || y >= height ? 0f : image[x + width * y];

    private static float Lerp(float a, float b, float t) => t == 0f ? a : a + (b - a) * t;

    /// <summary>
    /// Multiplies intensities measured from the image minimum by exp(quadratic in x, y), so the
    /// darkest tissue stays darkest on a z-scored image with negative values.
    /// </summary>
    private static void BiasField(double[] c, Span<float> image, int width, int height)
    {
        float min = Min(image);
        float c0 = (float)c[0], c1 = (float)c[1], c2 = (float)c[2], c3 = (float)c[3], c4 = (float)c[4];
        for (int y = 0; y < height; y++)
        {
            float ny = height > 1 ? 2f * y / (height - 1) - 1f : 0f;
            for (int x = 0; x < width; x++)
            {
                float nx = width > 1 ? 2f * x / (width - 1) - 1f : 0f;
                float field = MathF.Exp(c0 * nx + c1 * ny + c2 * nx * nx + c3 * nx * ny + c4 * ny * ny);
                int i = x + width * y;
                image[i] = min + (image[i] - min) * field;
            }
        }
    }

    private static void Gamma(Span<float> image, double gamma)
    {
        float exponent = (float)gamma;
        RemapUnitRange(image, t => MathF.Pow(t, exponent));
    }

    /// <summary>Piecewise-linear interpolation of the knot values, equally spaced over [0, 1].</summary>
    private static void IntensityCurve(Span<float> image, double[] knots)
    {
        int segments = knots.Length - 1;
        RemapUnitRange(image, t =>
        {
            float position = t * segments;
            int k = Math.Min((int)position, segments - 1);
            float w = position - k;
            return (float)(knots[k] + (knots[k + 1] - knots[k]) * w);
        });
    }

    /// <summary>Applies f to the min-max scaled image (t in [0, 1]), then restores the original mean and standard deviation.</summary>
    private static void RemapUnitRange(Span<float> image, Func<float, float> f)
    {
        (double mean, double std) = MeanStd(image);
        float min = Min(image), max = Max(image);
        float range = max - min;
        if (range <= 0f) return;
        for (int i = 0; i < image.Length; i++)
            image[i] = min + range * f((image[i] - min) / range);
        (double newMean, double newStd) = MeanStd(image);
        float scale = newStd > 1e-12 ? (float)(std / newStd) : 1f;
        for (int i = 0; i < image.Length; i++) image[i] = (float)((image[i] - newMean) * scale + mean);
    }

    internal static (double Mean, double Std) MeanStd(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        double mean = sum / values.Length, squares = 0;
        foreach (float v in values) squares += (v - mean) * (v - mean);
        return (mean, Math.Sqrt(squares / values.Length));
    }

    private static float Min(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity;
        foreach (float v in values) min = MathF.Min(min, v);
        return min;
    }

    private static float Max(ReadOnlySpan<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float v in values) max = MathF.Max(max, v);
        return max;
    }
}

/// <summary>An augmented image, its mask (when one was given) and the parameters used.</summary>
public sealed record AugmentedSlice(float[] Image, byte[]? Mask, AugmentationParameters Parameters);
