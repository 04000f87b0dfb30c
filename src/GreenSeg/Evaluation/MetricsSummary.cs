namespace GreenSeg.Evaluation;

/// <summary>
/// Statistics of one metric over the cases where it is defined. N counts those cases; Excluded counts
/// the cases where it is undefined (e.g. HD95 with one empty mask), left out of every statistic.
/// Mean and median are null when N is 0; the sample standard deviation when N is below 2.
/// </summary>
public sealed record MetricStatistics(double? Mean, double? Median, double? StandardDeviation, int N, int Excluded)
{
    public static MetricStatistics Of(IEnumerable<double?> values)
    {
        var all = values.ToList();
        List<double> defined = [.. all.Where(v => v.HasValue).Select(v => v!.Value)];
        int excluded = all.Count - defined.Count;
        if (defined.Count == 0) return new MetricStatistics(null, null, null, 0, excluded);
        return new MetricStatistics(defined.Average(), Statistics.Median(defined),
            Statistics.SampleStandardDeviation(defined), defined.Count, excluded);
    }
}

/// <summary>Per-metric statistics over a set of evaluated cases, in <see cref="CaseMetric.All"/> order.</summary>
public sealed class MetricsSummary
{
    public int Cases { get; }

    /// <summary>Keyed by <see cref="CaseMetric.Key"/>.</summary>
    public IReadOnlyDictionary<string, MetricStatistics> Metrics { get; }

    public MetricStatistics this[CaseMetric metric] => Metrics[metric.Key];

    private MetricsSummary(int cases, IReadOnlyDictionary<string, MetricStatistics> metrics)
    {
        Cases = cases;
        Metrics = metrics;
    }

    public static MetricsSummary From(IEnumerable<CaseMetrics> cases)
    {
        var list = cases.ToList();
        var metrics = new OrderedDictionary<string, MetricStatistics>();
        foreach (var metric in CaseMetric.All)
            metrics.Add(metric.Key, MetricStatistics.Of(list.Select(metric.Value)));
        return new MetricsSummary(list.Count, metrics);
    }
}
