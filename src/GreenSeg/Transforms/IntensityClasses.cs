namespace GreenSeg.Transforms;

/// <summary>
/// Splits a preprocessed slice into intensity classes, the label map that <see cref="SyntheticContrast"/>
/// paints with random intensities. Brain-mask voxels get classes of their own (the highest numbers), so
/// the brain stays a region whatever is drawn; every other voxel shares the remaining classes. Each group
/// is split by optimal 1D k-means over a histogram of its intensities (dynamic programming, as
/// Ckmeans.1d.dp), which needs no initialisation and is deterministic. Within a group, class numbers
/// ascend with intensity; a group with fewer distinct intensity bins than classes leaves some unused.
/// </summary>
public static class IntensityClasses
{
    /// <summary>Most classes a slice can have (class numbers are bytes; more would only be slower).</summary>
    public const int MaxCount = 64;
    /// <summary>Bumped whenever the class computation changes, so that disk caches holding classes go stale.</summary>
    public const int Version = 2;
    /// <summary>The class of canvas padding (outside the slice's field of view): never rendered as tissue.</summary>
    public const byte OutsideFieldOfView = byte.MaxValue;
    private const int HistogramBins = 256;

    /// <summary>What a prepared-sample cache's fingerprint adds when its samples carry classes of this split.</summary>
    public static string Fingerprint(int count, int brainClasses) => $";intensity-classes v{Version} {count}/{brainClasses}";

    /// <param name="count">All classes, the brain's included.</param>
    /// <param name="brainClasses">Classes for the brain-mask voxels alone (at least one class is left for the rest).</param>
    /// <param name="fieldOfView">1 where the canvas shows the slice, 0 on padding (class <see cref="OutsideFieldOfView"/>); empty: everything is inside.</param>
    public static byte[] Compute(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int count, int brainClasses, ReadOnlySpan<byte> fieldOfView = default)
    {
        if (mask.Length != image.Length) throw new ArgumentException($"image has {image.Length} values, mask {mask.Length}");
        if (!fieldOfView.IsEmpty && fieldOfView.Length != image.Length) throw new ArgumentException($"image has {image.Length} values, field of view {fieldOfView.Length}");
        if (brainClasses < 1 || count <= brainClasses || count > MaxCount)
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} classes, {brainClasses} for the brain: need 1 <= brain classes < classes <= {MaxCount}");
        var classes = new byte[image.Length];
        int backgroundClasses = count - brainClasses;
        // Padding is marked first and left out of the background's clustering.
        if (!fieldOfView.IsEmpty)
            for (int i = 0; i < classes.Length; i++)
                if (fieldOfView[i] == 0 && mask[i] == 0) classes[i] = OutsideFieldOfView;
        AssignGroup(image, mask, inBrain: false, firstClass: 0, backgroundClasses, classes);
        AssignGroup(image, mask, inBrain: true, firstClass: backgroundClasses, brainClasses, classes);
        return classes;
    }

    private static void AssignGroup(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, bool inBrain, int firstClass, int groupClasses, byte[] classes)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int i = 0; i < image.Length; i++)
        {
            if ((mask[i] != 0) != inBrain || classes[i] == OutsideFieldOfView) continue;
            float v = image[i];
            if (!float.IsFinite(v)) throw new ArgumentException($"image value {v} at index {i} is not finite", nameof(image));
            min = MathF.Min(min, v);
            max = MathF.Max(max, v);
        }
        if (min > max) return; // no voxel in this group
        float binsPerUnit = max > min ? HistogramBins / (max - min) : 0f;
        int Bin(float v) => Math.Min((int)((v - min) * binsPerUnit), HistogramBins - 1);

        var weights = new double[HistogramBins];
        var sums = new double[HistogramBins];
        for (int i = 0; i < image.Length; i++)
        {
            if ((mask[i] != 0) != inBrain || classes[i] == OutsideFieldOfView) continue;
            int bin = Bin(image[i]);
            weights[bin]++;
            sums[bin] += image[i];
        }
        int[] classOfBin = OptimalClusters(weights, sums, groupClasses);
        for (int i = 0; i < image.Length; i++)
            if ((mask[i] != 0) == inBrain && classes[i] != OutsideFieldOfView) classes[i] = (byte)(firstClass + classOfBin[Bin(image[i])]);
    }

    /// <summary>
    /// The split of the non-empty bins (in order) into at most <paramref name="clusters"/> contiguous runs
    /// with the least within-cluster sum of squares, each bin standing for its voxels at their mean. O(clusters · bins²).
    /// </summary>
    private static int[] OptimalClusters(double[] weights, double[] sums, int clusters)
    {
        int[] bins = Enumerable.Range(0, weights.Length).Where(b => weights[b] > 0).ToArray();
        int n = bins.Length;
        // Prefix sums over the non-empty bins give any run's sum of squares in O(1).
        var w = new double[n + 1];
        var s = new double[n + 1];
        var q = new double[n + 1];
        for (int j = 0; j < n; j++)
        {
            double weight = weights[bins[j]], sum = sums[bins[j]];
            w[j + 1] = w[j] + weight;
            s[j + 1] = s[j] + sum;
            q[j + 1] = q[j] + sum * sum / weight;
        }
        double Cost(int from, int to) // bins from..to inclusive
        {
            double sum = s[to + 1] - s[from];
            return Math.Max(0, q[to + 1] - q[from] - sum * sum / (w[to + 1] - w[from]));
        }

        int k = Math.Min(clusters, n);
        var cost = new double[k, n];
        var start = new int[k, n];
        for (int j = 0; j < n; j++) cost[0, j] = Cost(0, j);
        for (int c = 1; c < k; c++)
            for (int j = c; j < n; j++)
            {
                cost[c, j] = double.PositiveInfinity;
                for (int first = c; first <= j; first++)
                {
                    double candidate = cost[c - 1, first - 1] + Cost(first, j);
                    if (candidate < cost[c, j])
                    {
                        cost[c, j] = candidate;
                        start[c, j] = first;
                    }
                }
            }

        var classOfBin = new int[weights.Length];
        for (int c = k - 1, last = n - 1; c >= 0; c--)
        {
            int first = c == 0 ? 0 : start[c, last];
            for (int j = first; j <= last; j++) classOfBin[bins[j]] = c;
            last = first - 1;
        }
        return classOfBin;
    }
}
