namespace GreenSeg.Evaluation;

/// <summary>Descriptive statistics with the conventions the evaluation reports state.</summary>
public static class Statistics
{
    /// <summary>
    /// The p-th percentile (0..100) with linear interpolation between closest ranks: rank p/100·(n−1)
    /// of the sorted values, NumPy's default ("linear"). Throws on an empty sample.
    /// </summary>
    public static double Percentile(IEnumerable<double> values, double percentile)
    {
        if (!(percentile is >= 0 and <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), $"percentile must lie in 0..100, got {percentile}");
        double[] sorted = [.. values];
        if (sorted.Length == 0) throw new ArgumentException("percentile of an empty sample", nameof(values));
        Array.Sort(sorted);
        double rank = percentile / 100.0 * (sorted.Length - 1);
        int below = (int)Math.Floor(rank);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
    }

    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>Sample standard deviation (divisor n−1); undefined (null) for fewer than two values.</summary>
    public static double? SampleStandardDeviation(IReadOnlyCollection<double> values)
    {
        if (values.Count < 2) return null;
        double mean = values.Average();
        double sumOfSquares = values.Sum(v => (v - mean) * (v - mean));
        return Math.Sqrt(sumOfSquares / (values.Count - 1));
    }
}
