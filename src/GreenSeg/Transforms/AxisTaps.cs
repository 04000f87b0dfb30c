using System.Buffers;

namespace GreenSeg.Transforms;

/// <summary>
/// For each destination index along one axis: the two source indices to interpolate between (Low,
/// High; -1 where the destination lies outside the source, which then contributes zero) and the weight
/// of High. Nearest-neighbour taps have Low == High and weight 0. Arrays come from the shared pool.
/// </summary>
internal sealed class AxisTaps : IDisposable
{
    public int[] Low { get; }
    public int[] High { get; }
    public float[] Weight { get; }

    private AxisTaps(int length)
    {
        Low = ArrayPool<int>.Shared.Rent(length);
        High = ArrayPool<int>.Shared.Rent(length);
        Weight = ArrayPool<float>.Shared.Rent(length);
    }

    /// <summary>
    /// Original axis (sourceLength samples) → resampled axis (resampledLength samples over the same
    /// field of view) → placed at offset on a canvas of targetLength.
    /// </summary>
    public static AxisTaps Forward(int sourceLength, int resampledLength, int offset, int targetLength, bool nearest)
    {
        var taps = new AxisTaps(targetLength);
        double scale = sourceLength / (double)resampledLength;
        for (int d = 0; d < targetLength; d++)
        {
            int r = d - offset;
            if (r < 0 || r >= resampledLength) taps.SetOutside(d);
            else taps.Set(d, (r + 0.5) * scale - 0.5, sourceLength, nearest, validFrom: 0, validTo: sourceLength, shift: 0);
        }
        return taps;
    }

    /// <summary>
    /// The way back: canvas (targetLength, resampled content at offset) → original axis. Canvas
    /// pixels were only kept inside the canvas, so resampled samples that were cropped away read as zero.
    /// </summary>
    public static AxisTaps Inverse(int originalLength, int resampledLength, int offset, int targetLength, bool nearest)
    {
        var taps = new AxisTaps(originalLength);
        double scale = resampledLength / (double)originalLength;
        for (int i = 0; i < originalLength; i++)
            taps.Set(i, (i + 0.5) * scale - 0.5, resampledLength, nearest, validFrom: -offset, validTo: targetLength - offset, shift: offset);
        return taps;
    }

    private void SetOutside(int d)
    {
        Low[d] = High[d] = -1;
        Weight[d] = 0f;
    }

    /// <summary>
    /// Samples coordinate u (clamped to the length's edge samples); a sample index s is usable when
    /// validFrom &lt;= s &lt; validTo and is stored as s + shift.
    /// </summary>
    private void Set(int d, double u, int length, bool nearest, int validFrom, int validTo, int shift)
    {
        u = Math.Clamp(u, 0.0, length - 1);
        int low, high;
        float weight;
        if (nearest)
        {
            low = high = Math.Min((int)Math.Floor(u + 0.5), length - 1);
            weight = 0f;
        }
        else
        {
            low = (int)Math.Floor(u);
            high = Math.Min(low + 1, length - 1);
            weight = (float)(u - low);
        }
        Low[d] = low >= validFrom && low < validTo ? low + shift : -1;
        High[d] = high >= validFrom && high < validTo ? high + shift : -1;
        Weight[d] = weight;
    }

    public void Dispose()
    {
        ArrayPool<int>.Shared.Return(Low);
        ArrayPool<int>.Shared.Return(High);
        ArrayPool<float>.Shared.Return(Weight);
    }

    /// <summary>Bilinear resize of a whole image, pixel centres onto pixel centres over the same field of view.</summary>
    public static void Resize(ReadOnlySpan<float> source, int width, int height, Span<float> destination, int destinationWidth, int destinationHeight)
    {
        using AxisTaps xs = Forward(width, destinationWidth, 0, destinationWidth, nearest: false);
        using AxisTaps ys = Forward(height, destinationHeight, 0, destinationHeight, nearest: false);
        Linear(source, width, xs, ys, destination, destinationWidth);
    }

    /// <summary>
    /// A coarser acquisition of the same field of view: bilinear down by factor along both axes and back up, in place
    /// (a factor that keeps the size changes nothing).
    /// </summary>
    public static void LoseResolution(Span<float> image, int width, int height, double factor)
    {
        int lowWidth = Math.Max(1, (int)Math.Round(width / factor)), lowHeight = Math.Max(1, (int)Math.Round(height / factor));
        if (lowWidth == width && lowHeight == height) return;
        // Called per augmented sample: the coarse image borrows its buffer from the shared pool.
        float[] rented = ArrayPool<float>.Shared.Rent(lowWidth * lowHeight);
        Span<float> low = rented.AsSpan(0, lowWidth * lowHeight);
        Resize(image, width, height, low, lowWidth, lowHeight);
        Resize(low, lowWidth, lowHeight, image, width, height);
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>Separable bilinear resampling of a width x height source into destination (taps per axis).</summary>
    public static void Linear(ReadOnlySpan<float> source, int width, AxisTaps xs, AxisTaps ys, Span<float> destination, int destinationWidth)
    {
        int destinationHeight = destination.Length / destinationWidth;
        for (int y = 0; y < destinationHeight; y++)
        {
            int y0 = ys.Low[y], y1 = ys.High[y];
            float wy = ys.Weight[y];
            Span<float> row = destination.Slice(y * destinationWidth, destinationWidth);
            for (int x = 0; x < destinationWidth; x++)
            {
                int x0 = xs.Low[x], x1 = xs.High[x];
                float wx = xs.Weight[x];
                float top = Lerp(Tap(source, width, x0, y0), Tap(source, width, x1, y0), wx);
                float bottom = wy == 0f ? 0f : Lerp(Tap(source, width, x0, y1), Tap(source, width, x1, y1), wx);
                row[x] = wy == 0f ? top : top + (bottom - top) * wy;
            }
        }
    }

    /// <summary>Nearest-neighbour resampling (labels keep their values).</summary>
    public static void Nearest<T>(ReadOnlySpan<T> source, int width, AxisTaps xs, AxisTaps ys, Span<T> destination, int destinationWidth)
        where T : unmanaged
    {
        int destinationHeight = destination.Length / destinationWidth;
        for (int y = 0; y < destinationHeight; y++)
        {
            int sy = ys.Low[y];
            Span<T> row = destination.Slice(y * destinationWidth, destinationWidth);
            if (sy < 0)
            {
                row.Clear();
                continue;
            }
            ReadOnlySpan<T> sourceRow = source.Slice(sy * width, width);
            for (int x = 0; x < destinationWidth; x++)
            {
                int sx = xs.Low[x];
                row[x] = sx < 0 ? default : sourceRow[sx];
            }
        }
    }

    private static float Tap(ReadOnlySpan<float> source, int width, int x, int y) => x < 0 || y < 0 ? 0f : source[x + width * y];

    // Written so that a zero weight returns a exactly (an identity resampling is exact).
    private static float Lerp(float a, float b, float t) => t == 0f ? a : a + (b - a) * t;
}
