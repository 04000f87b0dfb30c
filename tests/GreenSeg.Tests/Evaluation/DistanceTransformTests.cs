using CsCheck;
using GreenSeg.Common;
using GreenSeg.Evaluation;

namespace GreenSeg.Tests.Evaluation;

public class DistanceTransformTests
{
    [Fact]
    public void AnisotropicDistanceFromOneFeatureIsTheWeightedPythagoras()
    {
        var grid = new VoxelGrid(3, 3, 3, 1, 2, 3);
        var features = new bool[grid.VoxelCount];
        features[grid.Index(0, 0, 0)] = true;

        double[] squared = DistanceTransform.SquaredEuclidean(features, grid);

        squared[grid.Index(0, 0, 0)].ShouldBe(0);
        squared[grid.Index(2, 0, 0)].ShouldBe(4, 1e-12);        // (2·1)²
        squared[grid.Index(0, 1, 0)].ShouldBe(4, 1e-12);        // (1·2)²
        squared[grid.Index(0, 0, 1)].ShouldBe(9, 1e-12);        // (1·3)²
        squared[grid.Index(2, 2, 2)].ShouldBe(4 + 16 + 36, 1e-12);
    }

    [Fact]
    public void WithoutFeaturesEveryDistanceIsInfinite()
    {
        var grid = new VoxelGrid(4, 3, 2);
        DistanceTransform.SquaredEuclidean(new bool[grid.VoxelCount], grid)
            .ShouldAllBe(d => double.IsPositiveInfinity(d));
    }

    [Fact]
    public void MatchesBruteForceOnRandomAnisotropicMasks()
    {
        var cases =
            from sizeX in Gen.Int[1, 7]
            from sizeY in Gen.Int[1, 7]
            from sizeZ in Gen.Int[1, 5]
            from spacing in Gen.Double[0.2, 4].Array[3]
            from density in Gen.Int[0, 10]
            from draws in Gen.Int[0, 9].Array[sizeX * sizeY * sizeZ]
            select (Grid: new VoxelGrid(sizeX, sizeY, sizeZ, spacing[0], spacing[1], spacing[2]),
                    Features: draws.Select(d => d < density).ToArray());

        cases.Sample(c =>
        {
            double[] fast = DistanceTransform.SquaredEuclidean(c.Features, c.Grid);
            double[] slow = BruteForceSquared(c.Features, c.Grid);
            for (int i = 0; i < fast.Length; i++)
            {
                if (double.IsPositiveInfinity(slow[i])) double.IsPositiveInfinity(fast[i]).ShouldBeTrue();
                else fast[i].ShouldBe(slow[i], 1e-9 * (1 + slow[i]));
            }
        }, iter: 300);
    }

    private static double[] BruteForceSquared(bool[] features, VoxelGrid grid)
    {
        var result = new double[grid.VoxelCount];
        foreach (var (x, y, z, i) in Voxels(grid))
        {
            double best = double.PositiveInfinity;
            foreach (var (fx, fy, fz, j) in Voxels(grid))
            {
                if (!features[j]) continue;
                double dx = (x - fx) * grid.SpacingX, dy = (y - fy) * grid.SpacingY, dz = (z - fz) * grid.SpacingZ;
                best = Math.Min(best, dx * dx + dy * dy + dz * dz);
            }
            result[i] = best;
        }
        return result;
    }

    internal static IEnumerable<(int X, int Y, int Z, int Index)> Voxels(VoxelGrid grid)
    {
        for (int z = 0; z < grid.SizeZ; z++)
            for (int y = 0; y < grid.SizeY; y++)
                for (int x = 0; x < grid.SizeX; x++)
                    yield return (x, y, z, grid.Index(x, y, z));
    }
}
