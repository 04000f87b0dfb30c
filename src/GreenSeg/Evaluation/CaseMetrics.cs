namespace GreenSeg.Evaluation;

/// <summary>
/// Agreement between one predicted mask and its reference ("truth"). Null means undefined: the surface
/// distances when exactly one mask is empty, the relative volume difference when the truth is empty
/// and the prediction is not. See <see cref="SegmentationMetrics"/> for every convention.
/// </summary>
public sealed record CaseMetrics(
    double Dice,
    double Iou,
    double? Hd95Mm,
    double? AssdMm,
    double PredictedVolumeMl,
    double TruthVolumeMl,
    double? VolumeDifferencePercent,
    int TruePositives,
    int FalsePositives,
    int FalseNegatives)
{
    /// <summary>Predicted minus truth volume: positive when the prediction is too large.</summary>
    public double VolumeDifferenceMl => PredictedVolumeMl - TruthVolumeMl;

    public bool PredictionEmpty => TruePositives + FalsePositives == 0;

    public bool TruthEmpty => TruePositives + FalseNegatives == 0;
}

/// <summary>
/// One reported metric: its key in CSV/JSON, its label and number format on screen, and how to read it.
/// </summary>
public sealed record CaseMetric(string Key, string Label, string DisplayFormat, Func<CaseMetrics, double?> Value)
{
    public static readonly CaseMetric Dice = new("dice", "Dice", "0.0000", m => m.Dice);
    public static readonly CaseMetric Iou = new("iou", "IoU", "0.0000", m => m.Iou);
    public static readonly CaseMetric Hd95Mm = new("hd95_mm", "HD95 mm", "0.00", m => m.Hd95Mm);
    public static readonly CaseMetric AssdMm = new("assd_mm", "ASSD mm", "0.00", m => m.AssdMm);
    public static readonly CaseMetric VolumeDifferenceMl = new("volume_difference_ml", "ΔV ml", "0.00", m => m.VolumeDifferenceMl);
    public static readonly CaseMetric VolumeDifferencePercent = new("volume_difference_percent", "ΔV %", "0.0", m => m.VolumeDifferencePercent);

    /// <summary>The metrics summaries and reports show, in their order.</summary>
    public static IReadOnlyList<CaseMetric> All { get; } =
        [Dice, Iou, Hd95Mm, AssdMm, VolumeDifferenceMl, VolumeDifferencePercent];
}
