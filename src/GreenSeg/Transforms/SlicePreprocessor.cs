namespace GreenSeg.Transforms;

/// <summary>
/// Brings a 2D slice to the network grid and predictions back: in-plane resampling to the target
/// spacing over the same field of view (bilinear for images, nearest for masks), intensity
/// normalisation, and centre padding/cropping to the target size. Arrays are indexed x + width * y.
/// Stateless and thread-safe; the Span overloads allocate nothing but pooled tap tables.
/// </summary>
public sealed class SlicePreprocessor
{
    public PreprocessingOptions Options { get; }

    public SlicePreprocessor(PreprocessingOptions options)
    {
        options.Validate();
        Options = options;
    }

    /// <summary>The geometry for a slice of this size and spacing (mm).</summary>
    public PreprocessingRecord Plan(int width, int height, double spacingX, double spacingY)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height}", "slice size must be positive");
        if (!double.IsFinite(spacingX) || !double.IsFinite(spacingY) || spacingX <= 0 || spacingY <= 0)
            throw new ArgumentOutOfRangeException(nameof(spacingX), $"{spacingX}x{spacingY}", "spacing must be positive and finite");
        int resampledWidth = ResampledLength(width, spacingX);
        int resampledHeight = ResampledLength(height, spacingY);
        return new PreprocessingRecord(width, height, spacingX, spacingY, resampledWidth, resampledHeight,
            CentreOffset(Options.TargetWidth, resampledWidth), CentreOffset(Options.TargetHeight, resampledHeight),
            Options.TargetWidth, Options.TargetHeight);
    }

    /// <summary>Where content of this length starts on a canvas: half the difference, rounded toward zero, so an odd extra pixel goes to the far end.</summary>
    public static int CentreOffset(int canvasLength, int contentLength) => (canvasLength - contentLength) / 2;

    /// <summary>Preprocesses an image and (when given) its mask; the mask is resampled with nearest neighbour.</summary>
    public PreprocessedSlice Forward(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int width, int height, double spacingX, double spacingY)
    {
        PreprocessingRecord record = Plan(width, height, spacingX, spacingY);
        float[] outImage = Image(image, record);
        byte[]? outMask = mask.IsEmpty ? null : Mask(mask, record);
        return new PreprocessedSlice(outImage, outMask, record);
    }

    public float[] Image(ReadOnlySpan<float> image, PreprocessingRecord record)
    {
        var destination = new float[record.TargetLength];
        Image(image, record, destination);
        return destination;
    }

    /// <summary>Resamples (bilinear), places on the canvas and normalises into destination (TargetWidth x TargetHeight).</summary>
    public void Image(ReadOnlySpan<float> image, PreprocessingRecord record, Span<float> destination)
    {
        CheckLengths(image.Length, record.OriginalLength, destination.Length, record.TargetLength);
        using (AxisTaps xs = AxisTaps.Forward(record.OriginalWidth, record.ResampledWidth, record.OffsetX, record.TargetWidth, nearest: false))
        using (AxisTaps ys = AxisTaps.Forward(record.OriginalHeight, record.ResampledHeight, record.OffsetY, record.TargetHeight, nearest: false))
            AxisTaps.Linear(image, record.OriginalWidth, xs, ys, destination, record.TargetWidth);
        if (Options.Normalization == IntensityNormalization.ZScoreNonzero) ZScoreNonzero(image, destination);
        else if (Options.Normalization == IntensityNormalization.Percentile) PercentileScale(image, destination);
    }

    public byte[] Mask(ReadOnlySpan<byte> mask, PreprocessingRecord record)
    {
        var destination = new byte[record.TargetLength];
        Mask(mask, record, destination);
        return destination;
    }

    /// <summary>Resamples a label mask (nearest neighbour) and places it on the canvas; padding is 0.</summary>
    public void Mask(ReadOnlySpan<byte> mask, PreprocessingRecord record, Span<byte> destination)
    {
        CheckLengths(mask.Length, record.OriginalLength, destination.Length, record.TargetLength);
        using AxisTaps xs = AxisTaps.Forward(record.OriginalWidth, record.ResampledWidth, record.OffsetX, record.TargetWidth, nearest: true);
        using AxisTaps ys = AxisTaps.Forward(record.OriginalHeight, record.ResampledHeight, record.OffsetY, record.TargetHeight, nearest: true);
        AxisTaps.Nearest(mask, record.OriginalWidth, xs, ys, destination, record.TargetWidth);
    }

    public static float[] InverseProbabilities(ReadOnlySpan<float> prediction, PreprocessingRecord record)
    {
        var destination = new float[record.OriginalLength];
        InverseProbabilities(prediction, record, destination);
        return destination;
    }

    /// <summary>
    /// Maps a canvas-sized prediction (probabilities or logits) back to the original slice: uncrop
    /// (what was cropped away reads as 0), then linear resampling to the original size.
    /// </summary>
    public static void InverseProbabilities(ReadOnlySpan<float> prediction, PreprocessingRecord record, Span<float> destination)
    {
        CheckLengths(prediction.Length, record.TargetLength, destination.Length, record.OriginalLength);
        using AxisTaps xs = AxisTaps.Inverse(record.OriginalWidth, record.ResampledWidth, record.OffsetX, record.TargetWidth, nearest: false);
        using AxisTaps ys = AxisTaps.Inverse(record.OriginalHeight, record.ResampledHeight, record.OffsetY, record.TargetHeight, nearest: false);
        AxisTaps.Linear(prediction, record.TargetWidth, xs, ys, destination, record.OriginalWidth);
    }

    public static byte[] InverseLabels(ReadOnlySpan<byte> labels, PreprocessingRecord record)
    {
        var destination = new byte[record.OriginalLength];
        InverseLabels(labels, record, destination);
        return destination;
    }

    /// <summary>Maps a canvas-sized label mask back to the original slice with nearest neighbour; cropped-away parts read as 0.</summary>
    public static void InverseLabels(ReadOnlySpan<byte> labels, PreprocessingRecord record, Span<byte> destination)
    {
        CheckLengths(labels.Length, record.TargetLength, destination.Length, record.OriginalLength);
        using AxisTaps xs = AxisTaps.Inverse(record.OriginalWidth, record.ResampledWidth, record.OffsetX, record.TargetWidth, nearest: true);
        using AxisTaps ys = AxisTaps.Inverse(record.OriginalHeight, record.ResampledHeight, record.OffsetY, record.TargetHeight, nearest: true);
        AxisTaps.Nearest(labels, record.TargetWidth, xs, ys, destination, record.OriginalWidth);
    }

    /// <summary>Normalises an image in place with statistics of its own values (as <see cref="Image(ReadOnlySpan{float}, PreprocessingRecord, Span{float})"/> does with the stored slice's).</summary>
    public static void Normalize(Span<float> image, IntensityNormalization normalization)
    {
        float[] original = image.ToArray();
        if (normalization == IntensityNormalization.ZScoreNonzero) ZScoreNonzero(original, image);
        else if (normalization == IntensityNormalization.Percentile) PercentileScale(original, image);
    }

    /// <summary>
    /// Statistics come from the original slice's nonzero voxels (not from interpolated values);
    /// destination voxels that are zero (background, padding) stay zero.
    /// </summary>
    internal static void ZScoreNonzero(ReadOnlySpan<float> original, Span<float> destination)
    {
        (double mean, double std, long count) = NonzeroStatistics(original);
        if (count == 0)
        {
            destination.Clear();
            return;
        }
        float shift = (float)mean;
        float inverseStd = std > 1e-12 ? (float)(1.0 / std) : 1f; // a constant slice is only centred
        for (int i = 0; i < destination.Length; i++)
            if (destination[i] != 0f) destination[i] = (destination[i] - shift) * inverseStd;
    }

    public const double LowPercentile = 1, HighPercentile = 99;

    /// <summary>Maps the original slice's 1st..99th percentile range to 0..1 (no clipping); a constant slice becomes 0.</summary>
    internal static void PercentileScale(ReadOnlySpan<float> original, Span<float> destination)
    {
        var sorted = original.ToArray();
        Array.Sort(sorted);
        float low = PercentileOfSorted(sorted, LowPercentile), high = PercentileOfSorted(sorted, HighPercentile);
        float range = high - low;
        if (!(range > 0))
        {
            destination.Clear();
            return;
        }
        float scale = 1f / range;
        for (int i = 0; i < destination.Length; i++) destination[i] = (destination[i] - low) * scale;
    }

    /// <summary>Linear interpolation between the closest ranks (numpy's default).</summary>
    internal static float PercentileOfSorted(ReadOnlySpan<float> sorted, double percentile)
    {
        double rank = percentile / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(rank);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return (float)(sorted[below] + (sorted[above] - sorted[below]) * (rank - below));
    }

    /// <summary>Mean and standard deviation of the nonzero values, in two passes (no cancellation on large raw values).</summary>
    internal static (double Mean, double Std, long Count) NonzeroStatistics(ReadOnlySpan<float> values)
    {
        double sum = 0;
        long count = 0;
        foreach (float v in values)
        {
            if (v == 0f) continue;
            sum += v;
            count++;
        }
        if (count == 0) return (0, 0, 0);
        double mean = sum / count, squares = 0;
        foreach (float v in values)
        {
            if (v == 0f) continue;
            double d = v - mean;
            squares += d * d;
        }
        return (mean, Math.Sqrt(squares / count), count);
    }

    private int ResampledLength(int length, double spacing)
    {
        double exact = length * spacing / Options.TargetSpacing;
        return (int)Math.Max(1, Math.Min(int.MaxValue / 2, Math.Round(exact, MidpointRounding.AwayFromZero)));
    }

    private static void CheckLengths(int input, int expectedInput, int output, int expectedOutput)
    {
        if (input != expectedInput) throw new ArgumentException($"input has {input} values, the record expects {expectedInput}");
        if (output != expectedOutput) throw new ArgumentException($"destination has {output} values, the record expects {expectedOutput}");
    }
}

/// <summary>A preprocessed slice: image and (when one was given) mask on the target canvas, and the record to invert it.</summary>
public sealed record PreprocessedSlice(float[] Image, byte[]? Mask, PreprocessingRecord Record);
