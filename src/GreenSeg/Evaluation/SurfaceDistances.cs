using GreenSeg.Common;

namespace GreenSeg.Evaluation;

/// <summary>
/// Distances in mm from every surface voxel of one mask to the nearest surface voxel of the other
/// (voxel centre to voxel centre, anisotropic spacing honoured), in both directions. This is the
/// distance set MedPy's hd95/assd and MONAI's surface metrics are built on.
/// </summary>
public sealed class SurfaceDistances
{
    /// <summary>For each prediction surface voxel, its distance to the truth surface.</summary>
    public double[] PredictionToTruth { get; }

    /// <summary>For each truth surface voxel, its distance to the prediction surface.</summary>
    public double[] TruthToPrediction { get; }

    private SurfaceDistances(double[] predictionToTruth, double[] truthToPrediction)
    {
        PredictionToTruth = predictionToTruth;
        TruthToPrediction = truthToPrediction;
    }

    /// <summary>Both directions, pooled: the sample HD95 and ASSD are taken over.</summary>
    public double[] Pooled() => [.. PredictionToTruth, .. TruthToPrediction];

    /// <summary>
    /// Both masks must be non-empty (nonzero = foreground): a distance to an empty surface is undefined.
    /// The transforms run on the bounding box of the two masks only, which is exact because every
    /// feature and every query voxel lies inside it.
    /// </summary>
    public static SurfaceDistances Compute(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, VoxelGrid grid)
    {
        grid.RequireLength(prediction.Length, nameof(prediction));
        grid.RequireLength(truth.Length, nameof(truth));
        bool[] predictionSurface = MaskSurface.Extract(prediction, grid);
        bool[] truthSurface = MaskSurface.Extract(truth, grid);

        // A non-empty mask always has a surface: its outermost voxels touch background or the border.
        if (Array.IndexOf(predictionSurface, true) < 0 || Array.IndexOf(truthSurface, true) < 0)
            throw new ArgumentException("surface distances are undefined when a mask is empty");

        // The masks' box is the surfaces' box: a mask's outermost voxels are surface voxels.
        var box = VoxelBox.Enclosing(grid, prediction, truth)!.Value;
        VoxelGrid cropped = box.GridIn(grid);
        bool[] croppedPrediction = box.Crop<bool>(predictionSurface, grid);
        bool[] croppedTruth = box.Crop<bool>(truthSurface, grid);
        double[] toTruth = DistanceTransform.SquaredEuclidean(croppedTruth, cropped);
        double[] toPrediction = DistanceTransform.SquaredEuclidean(croppedPrediction, cropped);
        return new SurfaceDistances(
            DistancesAt(croppedPrediction, toTruth),
            DistancesAt(croppedTruth, toPrediction));
    }

    private static double[] DistancesAt(bool[] surface, double[] squaredDistances)
    {
        var distances = new List<double>();
        for (int i = 0; i < surface.Length; i++)
            if (surface[i]) distances.Add(Math.Sqrt(squaredDistances[i]));
        return [.. distances];
    }
}
