using GreenSeg.Common;

namespace GreenSeg.Evaluation;

/// <summary>
/// Overlap, surface-distance and volume metrics of a binary prediction against a binary truth on the
/// same voxel grid (nonzero = foreground).
/// Conventions:
/// - Dice = 2TP/(2TP+FP+FN), IoU (Jaccard) = TP/(TP+FP+FN), counted in voxels.
/// - Surface: see <see cref="MaskSurface"/> (face-connected, MedPy/MONAI style); distances between
///   voxel centres in mm with the grid's spacing, from an exact distance transform.
/// - HD95: the 95th percentile (linear interpolation, NumPy's default) of the POOLED distances,
///   prediction→truth and truth→prediction together, as MedPy's hd95 does. (MONAI's default instead
///   takes the larger of the two directional 95th percentiles; that is never smaller.)
/// - ASSD: the mean of the pooled distances, i.e. (Σ d(p, T) + Σ d(t, P)) / (|∂P| + |∂T|), the usual
///   definition and MONAI's symmetric average surface distance. (MedPy's assd averages the two
///   directional means instead; the two agree when both surfaces have as many voxels.)
/// - Volumes in ml from voxel counts × voxel volume (a 2D slice counts its slice thickness, pixdim[3]);
///   difference = predicted − truth;
///   relative difference = 100·(predicted − truth)/truth %.
/// - Empty masks: both empty → Dice 1, IoU 1, HD95 0, ASSD 0, relative volume difference 0 (a correct
///   "nothing here"). Exactly one empty → Dice 0, IoU 0, HD95 and ASSD undefined (null); the relative
///   volume difference is undefined when the truth is empty. Summaries leave undefined values out and
///   count them as excluded.
/// </summary>
public static class SegmentationMetrics
{
    public const double HausdorffPercentile = 95;

    /// <summary>The conventions above in short, written into evaluation summaries so a result can be reproduced.</summary>
    public static IReadOnlyDictionary<string, string> Conventions { get; } = new OrderedDictionary<string, string>
    {
        ["overlap"] = "Dice = 2TP/(2TP+FP+FN), IoU = TP/(TP+FP+FN) in voxels; masks binarised as stored value > 0",
        ["surface"] = "foreground voxels with a face neighbour (6-connected in 3D, 4-connected on a 2D slice) outside the mask or outside the image, as in MedPy/MONAI",
        ["distances"] = "voxel centre to nearest voxel centre of the other surface, in mm with the truth file's voxel spacing, exact Euclidean distance transform",
        ["hd95"] = "95th percentile (linear interpolation) of the pooled prediction-to-truth and truth-to-prediction surface distances, as MedPy's hd95",
        ["assd"] = "mean of the pooled surface distances in both directions",
        ["volume"] = "volume_difference = predicted - truth in ml (voxel count x voxel volume; a 2D slice counts its slice thickness); percent relative to the truth volume",
        ["empty_masks"] = "both empty: Dice 1, IoU 1, HD95 0, ASSD 0, volume difference 0%; exactly one empty: Dice 0, IoU 0, HD95/ASSD undefined (null, excluded from the statistics and counted as excluded); volume percent undefined when the truth is empty",
        ["statistics"] = "mean, median and sample standard deviation (n-1) over the cases where the metric is defined",
    };

    public static CaseMetrics Compute(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, VoxelGrid grid)
    {
        grid.RequireLength(prediction.Length, nameof(prediction));
        grid.RequireLength(truth.Length, nameof(truth));
        var (truePositives, falsePositives, falseNegatives) = Overlap.Count(prediction, truth);
        int predictedVoxels = truePositives + falsePositives, truthVoxels = truePositives + falseNegatives;
        bool bothEmpty = predictedVoxels == 0 && truthVoxels == 0;
        int disagreement = falsePositives + falseNegatives;
        double dice = Overlap.Dice(truePositives, falsePositives, falseNegatives);
        double iou = bothEmpty ? 1 : (double)truePositives / (truePositives + disagreement);

        double? hd95 = null, assd = null;
        if (bothEmpty)
        {
            hd95 = 0;
            assd = 0;
        }
        else if (predictedVoxels > 0 && truthVoxels > 0)
        {
            double[] pooled = SurfaceDistances.Compute(prediction, truth, grid).Pooled();
            hd95 = Statistics.Percentile(pooled, HausdorffPercentile);
            assd = pooled.Average();
        }

        double predictedMl = predictedVoxels * grid.VoxelVolumeMl, truthMl = truthVoxels * grid.VoxelVolumeMl;
        double? relativeDifference = truthVoxels > 0 ? 100.0 * (predictedVoxels - truthVoxels) / truthVoxels
            : bothEmpty ? 0 : null;
        return new CaseMetrics(dice, iou, hd95, assd, predictedMl, truthMl, relativeDifference,
            truePositives, falsePositives, falseNegatives);
    }
}

/// <summary>Voxel overlap of two binary masks (nonzero is foreground), and the Dice it gives.</summary>
public static class Overlap
{
    public static (int TruePositives, int FalsePositives, int FalseNegatives) Count(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth)
    {
        if (prediction.Length != truth.Length) throw new ArgumentException($"{prediction.Length} predicted voxels against {truth.Length} true ones");
        int truePositives = 0, falsePositives = 0, falseNegatives = 0;
        for (int i = 0; i < prediction.Length; i++)
        {
            bool predicted = prediction[i] != 0, actual = truth[i] != 0;
            if (predicted && actual) truePositives++;
            else if (predicted) falsePositives++;
            else if (actual) falseNegatives++;
        }
        return (truePositives, falsePositives, falseNegatives);
    }

    /// <summary>2TP/(2TP+FP+FN); both masks empty gives 1 (they agree there is nothing).</summary>
    public static double Dice(int truePositives, int falsePositives, int falseNegatives) =>
        truePositives + falsePositives + falseNegatives == 0 ? 1 : 2.0 * truePositives / (2.0 * truePositives + falsePositives + falseNegatives);

    public static double Dice(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth)
    {
        var (truePositives, falsePositives, falseNegatives) = Count(prediction, truth);
        return Dice(truePositives, falsePositives, falseNegatives);
    }
}
