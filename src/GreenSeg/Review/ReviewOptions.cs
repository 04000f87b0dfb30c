namespace GreenSeg.Review;

public sealed record ReviewOptions
{
    public MosaicOptions Mosaic { get; init; } = new();
    /// <summary>
    /// Brain volumes outside this band are flagged. Fetal intracranial volume grows from about 50 ml at 18 weeks'
    /// gestation to about 500 ml at term; the band is wider so that only masks no fetus could have are flagged.
    /// </summary>
    public (double Min, double Max) PlausibleVolumeMl { get; init; } = (30, 800);
    /// <summary>A volume this many times above or below the median of the other stacks is an outlier.</summary>
    public double OutlierRatio { get; init; } = 2.5;
    /// <summary>Outliers are looked for only among at least this many non-empty masks (the stack itself included).</summary>
    public int MinStacksForOutliers { get; init; } = 4;

    public ReviewOptions Validate()
    {
        Mosaic.Validate();
        if (!(PlausibleVolumeMl.Min >= 0 && PlausibleVolumeMl.Min < PlausibleVolumeMl.Max && double.IsFinite(PlausibleVolumeMl.Max)))
            throw new ArgumentOutOfRangeException(nameof(PlausibleVolumeMl), PlausibleVolumeMl, "need 0 <= min < max");
        if (!(OutlierRatio > 1 && double.IsFinite(OutlierRatio))) throw new ArgumentOutOfRangeException(nameof(OutlierRatio), OutlierRatio, "must be above 1");
        if (MinStacksForOutliers < 2) throw new ArgumentOutOfRangeException(nameof(MinStacksForOutliers), MinStacksForOutliers, "must be at least 2");
        return this;
    }
}
