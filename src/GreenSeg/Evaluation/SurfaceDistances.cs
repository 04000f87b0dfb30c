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

        var box = VoxelBox.Enclosing(predictionSurface, truthSurface, grid);
        VoxelGrid cropped = box.Grid;
        bool[] croppedPrediction = box.Crop(predictionSurface);
        bool[] croppedTruth = box.Crop(truthSurface);
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

    /// <summary>The smallest axis-aligned box holding every set voxel of two masks.</summary>
    private readonly record struct VoxelBox(int MinX, int MinY, int MinZ, VoxelGrid Source, VoxelGrid Grid)
    {
        /// <summary>At least one voxel of a or b must be set.</summary>
        public static VoxelBox Enclosing(bool[] a, bool[] b, VoxelGrid grid)
        {
            int minX = int.MaxValue, minY = int.MaxValue, minZ = int.MaxValue, maxX = -1, maxY = -1, maxZ = -1;
            for (int z = 0; z < grid.SizeZ; z++)
                for (int y = 0; y < grid.SizeY; y++)
                {
                    int row = grid.Index(0, y, z);
                    for (int x = 0; x < grid.SizeX; x++)
                    {
                        if (!a[row + x] && !b[row + x]) continue;
                        minX = Math.Min(minX, x); maxX = Math.Max(maxX, x);
                        minY = Math.Min(minY, y); maxY = Math.Max(maxY, y);
                        minZ = Math.Min(minZ, z); maxZ = Math.Max(maxZ, z);
                    }
                }
            var cropped = new VoxelGrid(maxX - minX + 1, maxY - minY + 1, maxZ - minZ + 1,
                grid.SpacingX, grid.SpacingY, grid.SpacingZ);
            return new VoxelBox(minX, minY, minZ, grid, cropped);
        }

        public bool[] Crop(bool[] source)
        {
            var result = new bool[Grid.VoxelCount];
            for (int z = 0; z < Grid.SizeZ; z++)
                for (int y = 0; y < Grid.SizeY; y++)
                    Array.Copy(source, Source.Index(MinX, MinY + y, MinZ + z), result, Grid.Index(0, y, z), Grid.SizeX);
            return result;
        }
    }
}
