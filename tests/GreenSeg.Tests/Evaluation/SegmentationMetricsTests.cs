using CsCheck;
using GreenSeg.Common;
using GreenSeg.Evaluation;

namespace GreenSeg.Tests.Evaluation;

public class SegmentationMetricsTests
{
    [Fact]
    public void OverlapDiceHandlesEmptyMasksAndRefusesMismatchedLengths()
    {
        Overlap.Dice([0, 0, 0], [0, 0, 0]).ShouldBe(1);
        Overlap.Dice([0, 0, 0], [0, 1, 0]).ShouldBe(0);
        Overlap.Dice([1, 1, 0], [0, 1, 1]).ShouldBe(0.5);
        Should.Throw<ArgumentException>(() => Overlap.Dice([1, 1], [1, 1, 1]));
    }

    [Fact]
    public void OverlapAndVolumeOnALineOfVoxels()
    {
        // Voxels of 2 × 1.5 × 1 = 3 mm³. Prediction 1 1 1 0, truth 0 1 0 0.
        var grid = new VoxelGrid(4, 1, 1, 2, 1.5, 1);
        var prediction = new MaskBuilder(grid).Box(0, 2, 0, 0);
        var truth = new MaskBuilder(grid).Set(1, 0);

        var m = SegmentationMetrics.Compute(prediction, truth, grid);

        (m.TruePositives, m.FalsePositives, m.FalseNegatives).ShouldBe((1, 2, 0));
        m.Dice.ShouldBe(2.0 * 1 / (2 * 1 + 2 + 0), 1e-12);     // 0.5
        m.Iou.ShouldBe(1.0 / 3, 1e-12);
        m.PredictedVolumeMl.ShouldBe(0.009, 1e-12);            // 3 voxels × 3 mm³
        m.TruthVolumeMl.ShouldBe(0.003, 1e-12);
        m.VolumeDifferenceMl.ShouldBe(0.006, 1e-12);
        m.VolumeDifferencePercent!.Value.ShouldBe(200, 1e-9);
    }

    [Fact]
    public void IdenticalMasksAgreePerfectly()
    {
        var grid = new VoxelGrid(6, 6, 4, 0.8, 0.8, 3);
        var mask = new MaskBuilder(grid).Box(1, 4, 2, 5, 0, 2);

        var m = SegmentationMetrics.Compute(mask, mask, grid);

        (m.Dice, m.Iou, m.Hd95Mm, m.AssdMm, m.VolumeDifferencePercent).ShouldBe((1.0, 1.0, 0.0, 0.0, 0.0));
    }

    [Fact]
    public void OneVoxelShiftAlongThickSlicesCostsTheSliceThickness()
    {
        // Spacing (1, 1, 3): a 3×3×2 block (every voxel is surface: it is two slices thick) moved up
        // one slice. Each direction: 9 voxels at 0 mm (the shared slice) and 9 at 3 mm.
        var grid = new VoxelGrid(5, 5, 6, 1, 1, 3);
        var truth = new MaskBuilder(grid).Box(1, 3, 1, 3, 1, 2);
        var prediction = new MaskBuilder(grid).Box(1, 3, 1, 3, 2, 3);

        var distances = SurfaceDistances.Compute(prediction, truth, grid);
        distances.PredictionToTruth.Order().ShouldBe([.. Enumerable.Repeat(0.0, 9), .. Enumerable.Repeat(3.0, 9)]);
        distances.TruthToPrediction.Order().ShouldBe([.. Enumerable.Repeat(0.0, 9), .. Enumerable.Repeat(3.0, 9)]);

        var m = SegmentationMetrics.Compute(prediction, truth, grid);
        m.Hd95Mm!.Value.ShouldBe(3, 1e-12);   // rank 0.95·35 = 33.25 falls among the 3 mm values
        m.AssdMm!.Value.ShouldBe(1.5, 1e-12);
        m.Dice.ShouldBe(0.5, 1e-12);
    }

    [Theory]
    [InlineData(2, 0, 1.0)]     // two voxels of 0.5 mm
    [InlineData(0, 1, 2.0)]     // one voxel of 2 mm
    [InlineData(2, 1, 2.2360679774997896)] // √(1² + 2²)
    public void InPlaneAnisotropicShiftOfOneVoxel(int shiftX, int shiftY, double expectedMm)
    {
        var grid = new VoxelGrid(5, 5, 1, 0.5, 2, 1);
        var truth = new MaskBuilder(grid).Set(1, 1);
        var prediction = new MaskBuilder(grid).Set(1 + shiftX, 1 + shiftY);

        var m = SegmentationMetrics.Compute(prediction, truth, grid);

        m.Hd95Mm!.Value.ShouldBe(expectedMm, 1e-12);
        m.AssdMm!.Value.ShouldBe(expectedMm, 1e-12);
    }

    [Fact]
    public void Hd95PoolsBothDirectionsBeforeTakingThePercentile()
    {
        // A line of voxels. Truth {0}; prediction {0, 20}. Prediction→truth: 0, 20; truth→prediction: 0.
        // Pooled [0, 0, 20]: rank 0.95·2 = 1.9 → 0 + 0.9·20 = 18 mm. (MONAI's default, the larger of
        // the directional percentiles, would give 19 mm; MedPy's assd would give (10 + 0)/2 = 5 mm.)
        var grid = new VoxelGrid(21, 1, 1);
        var truth = new MaskBuilder(grid).Set(0, 0);
        var prediction = new MaskBuilder(grid).Set(0, 0).Set(20, 0);

        var m = SegmentationMetrics.Compute(prediction, truth, grid);

        m.Hd95Mm!.Value.ShouldBe(18, 1e-12);
        m.AssdMm!.Value.ShouldBe(20.0 / 3, 1e-12);
    }

    [Fact]
    public void Hd95IgnoresOneOutlierAmongManySurfaceVoxels()
    {
        // A 10×10 square filling the slice's height (36 surface voxels) and a lone false-positive voxel
        // 20 mm away: 72 pooled zeros and one 20, so the 95th percentile is 0 while the maximum is 20.
        var grid = new VoxelGrid(30, 10, 1);
        var truth = new MaskBuilder(grid).Box(0, 9, 0, 9);
        var prediction = new MaskBuilder(grid).Box(0, 9, 0, 9).Set(29, 5);

        var distances = SurfaceDistances.Compute(prediction, truth, grid);
        distances.Pooled().Length.ShouldBe(73);
        distances.Pooled().Max().ShouldBe(20, 1e-12);

        var m = SegmentationMetrics.Compute(prediction, truth, grid);
        m.Hd95Mm!.Value.ShouldBe(0);
        m.AssdMm!.Value.ShouldBe(20.0 / 73, 1e-12);
    }

    [Fact]
    public void BothEmptyIsAPerfectAgreement()
    {
        var grid = new VoxelGrid(4, 4, 3);
        var m = SegmentationMetrics.Compute(new byte[grid.VoxelCount], new byte[grid.VoxelCount], grid);

        (m.Dice, m.Iou, m.Hd95Mm, m.AssdMm).ShouldBe((1.0, 1.0, 0.0, 0.0));
        (m.PredictedVolumeMl, m.TruthVolumeMl, m.VolumeDifferencePercent).ShouldBe((0.0, 0.0, 0.0));
        m.PredictionEmpty.ShouldBeTrue();
        m.TruthEmpty.ShouldBeTrue();
    }

    [Fact]
    public void EmptyPredictionOfANonEmptyTruthHasUndefinedDistances()
    {
        var grid = new VoxelGrid(4, 4, 3);
        var truth = new MaskBuilder(grid).Box(1, 2, 1, 2, 1, 1);

        var m = SegmentationMetrics.Compute(new byte[grid.VoxelCount], truth, grid);

        (m.Dice, m.Iou).ShouldBe((0.0, 0.0));
        m.Hd95Mm.ShouldBeNull();
        m.AssdMm.ShouldBeNull();
        m.VolumeDifferencePercent.ShouldBe(-100);
        (m.TruePositives, m.FalsePositives, m.FalseNegatives).ShouldBe((0, 0, 4));
    }

    [Fact]
    public void PredictionWhereTheTruthIsEmptyHasUndefinedDistancesAndRelativeVolume()
    {
        var grid = new VoxelGrid(4, 4, 3);
        var prediction = new MaskBuilder(grid).Set(1, 1, 1);

        var m = SegmentationMetrics.Compute(prediction, new byte[grid.VoxelCount], grid);

        (m.Dice, m.Iou).ShouldBe((0.0, 0.0));
        m.Hd95Mm.ShouldBeNull();
        m.AssdMm.ShouldBeNull();
        m.VolumeDifferencePercent.ShouldBeNull();
        m.VolumeDifferenceMl.ShouldBe(grid.VoxelVolumeMl, 1e-15);
    }

    [Fact]
    public void MaskLengthMustMatchTheGrid()
    {
        var grid = new VoxelGrid(4, 4, 3);
        Should.Throw<ArgumentException>(() => SegmentationMetrics.Compute(new byte[5], new byte[grid.VoxelCount], grid));
    }

    [Fact]
    public void SurfaceDistancesMatchBruteForceOnRandomMasks()
    {
        var cases =
            from sizeX in Gen.Int[1, 7]
            from sizeY in Gen.Int[1, 7]
            from sizeZ in Gen.Int[1, 4]
            from spacing in Gen.Double[0.3, 3].Array[3]
            from a in Gen.Int[0, 3].Array[sizeX * sizeY * sizeZ]
            from b in Gen.Int[0, 3].Array[sizeX * sizeY * sizeZ]
            select (Grid: new VoxelGrid(sizeX, sizeY, sizeZ, spacing[0], spacing[1], spacing[2]),
                    Prediction: a.Select(v => v == 0 ? (byte)1 : (byte)0).ToArray(),
                    Truth: b.Select(v => v == 0 ? (byte)1 : (byte)0).ToArray());

        cases.Where(c => c.Prediction.Contains((byte)1) && c.Truth.Contains((byte)1)).Sample(c =>
        {
            var distances = SurfaceDistances.Compute(c.Prediction, c.Truth, c.Grid);
            bool[] predictionSurface = MaskSurface.Extract(c.Prediction, c.Grid);
            bool[] truthSurface = MaskSurface.Extract(c.Truth, c.Grid);
            distances.PredictionToTruth.ShouldBe(BruteForce(predictionSurface, truthSurface, c.Grid), 1e-9);
            distances.TruthToPrediction.ShouldBe(BruteForce(truthSurface, predictionSurface, c.Grid), 1e-9);
        }, iter: 300);
    }

    /// <summary>Distance from each "from" voxel (in x-fastest order) to the nearest "to" voxel.</summary>
    private static double[] BruteForce(bool[] from, bool[] to, VoxelGrid grid)
    {
        var voxels = DistanceTransformTests.Voxels(grid).ToList();
        return [.. voxels.Where(v => from[v.Index]).Select(v => voxels.Where(t => to[t.Index]).Min(t =>
            Math.Sqrt(Math.Pow((v.X - t.X) * grid.SpacingX, 2) + Math.Pow((v.Y - t.Y) * grid.SpacingY, 2)
                + Math.Pow((v.Z - t.Z) * grid.SpacingZ, 2))))];
    }
}
