using CsCheck;
using GreenSeg.Common;
using GreenSeg.Transforms;
using GreenSeg.Tests.Evaluation;

namespace GreenSeg.Tests.Transforms;

public class PostProcessingTests
{
    [Fact]
    public void KeepsTheLargestComponentOfASlice()
    {
        var grid = new VoxelGrid(8, 3, 1);
        var mask = new MaskBuilder(grid).Box(0, 1, 0, 0).Set(0, 1).Box(4, 7, 1, 1);   // 3 voxels, 4 voxels

        PostProcessing.KeepLargestComponent(mask, grid).ShouldBe(new MaskBuilder(grid).Box(4, 7, 1, 1).Voxels);
    }

    [Fact]
    public void ConnectivityDecidesWhetherADiagonalChainIsOneComponent()
    {
        // A corner-to-corner chain of 3 voxels and a face-connected pair elsewhere.
        var grid = new VoxelGrid(5, 3, 3);
        var chain = new MaskBuilder(grid).Set(0, 0, 0).Set(1, 1, 1).Set(2, 2, 2);
        var pair = new MaskBuilder(grid).Set(4, 0, 0).Set(4, 1, 0);
        byte[] mask = [.. chain.Voxels.Zip(pair.Voxels, (a, b) => (byte)(a | b))];

        PostProcessing.KeepLargestComponent(mask, grid, ComponentConnectivity.Full).ShouldBe(chain.Voxels);
        PostProcessing.KeepLargestComponent(mask, grid, ComponentConnectivity.Faces).ShouldBe(pair.Voxels);
    }

    [Fact]
    public void LargeComponentsKeepsEveryPieceAboveItsShareOfTheLargest()
    {
        // A brain split by motion into two slabs of 6 and 4 voxels, and a 1-voxel false positive.
        var grid = new VoxelGrid(10, 2, 3);
        var slabs = new MaskBuilder(grid).Box(0, 2, 0, 1, 0).Box(5, 6, 0, 1, 2, 2);
        var mask = new MaskBuilder(grid).Box(0, 2, 0, 1, 0).Box(5, 6, 0, 1, 2, 2).Set(9, 0, 0);

        PostProcessing.KeepLargeComponents(mask.Voxels, grid, minShare: 0.5).ShouldBe(slabs.Voxels);
        PostProcessing.KeepLargeComponents(mask.Voxels, grid, minShare: 0.1).ShouldBe(mask.Voxels);
        PostProcessing.KeepLargeComponents(mask.Voxels, grid, minShare: 1).ShouldBe(new MaskBuilder(grid).Box(0, 2, 0, 1, 0).Voxels);
        PostProcessing.CountComponents(mask.Voxels, grid).ShouldBe(3);
        PostProcessing.CountLargeComponents(mask.Voxels, grid, minShare: 0.5).ShouldBe(2);
        PostProcessing.CountLargeComponents(mask.Voxels, grid, minShare: 0.1).ShouldBe(3);
        PostProcessing.CountLargeComponents(new byte[grid.VoxelCount], grid, minShare: 0.1).ShouldBe(0);
        PostProcessing.Apply(mask.Voxels, grid, new PostProcessingOptions(ComponentSelection.Large, HoleFilling.None, MinComponentShare: 0.5)).ShouldBe(slabs.Voxels);
        PostProcessing.Apply(mask.Voxels, grid, PostProcessingOptions.None).ShouldBe(mask.Voxels);
        var (cleaned, before) = PostProcessing.ApplyCounting(mask.Voxels, grid, new PostProcessingOptions(ComponentSelection.Large, HoleFilling.None, MinComponentShare: 0.5));
        // The speck is not counted: only pieces the selection keeps are.
        (cleaned, before).ShouldBe((slabs.Voxels, 2), new CleanedComparer());
        Should.Throw<ArgumentOutOfRangeException>(() => new PostProcessingOptions(MinComponentShare: 0).Validate());
    }

    [Fact]
    public void TiesKeepTheComponentMetFirst()
    {
        var grid = new VoxelGrid(5, 1, 1);
        PostProcessing.KeepLargestComponent(new MaskBuilder(grid).Set(0, 0).Set(4, 0), grid)
            .ShouldBe(new MaskBuilder(grid).Set(0, 0).Voxels);
    }

    [Fact]
    public void EmptyStaysEmptyAndInputIsUntouched()
    {
        var grid = new VoxelGrid(4, 4, 2);
        var empty = new byte[grid.VoxelCount];
        PostProcessing.KeepLargestComponent(empty, grid).ShouldAllBe(v => v == 0);

        var mask = new MaskBuilder(grid).Set(0, 0).Set(3, 3, 1).Set(3, 2, 1);
        byte[] before = [.. mask.Voxels];
        PostProcessing.Apply(mask, grid, PostProcessingOptions.Default);
        mask.Voxels.ShouldBe(before);
    }

    [Fact]
    public void AComponentOfMillionsOfVoxelsNeedsNoRecursion()
    {
        var grid = new VoxelGrid(160, 160, 44);
        var mask = new byte[grid.VoxelCount];
        Array.Fill(mask, (byte)1);
        PostProcessing.KeepLargestComponent(mask, grid, ComponentConnectivity.Faces).ShouldAllBe(v => v == 1);
    }

    [Fact]
    public void FillsAnEnclosedHoleButNotABayOpenToTheBorder()
    {
        var grid = new VoxelGrid(9, 5, 1);
        var ring = new MaskBuilder(grid).Box(0, 2, 0, 2).Clear(1, 1);               // hole at (1,1)
        var bay = new MaskBuilder(grid).Box(5, 7, 1, 4).Clear(6, 2).Clear(6, 3).Clear(6, 4);   // open at y = 4
        byte[] mask = [.. ring.Voxels.Zip(bay.Voxels, (a, b) => (byte)(a | b))];

        byte[] filled = PostProcessing.FillHolesPerSlice(mask, grid);

        filled[grid.Index(1, 1, 0)].ShouldBe((byte)1);
        filled[grid.Index(6, 2, 0)].ShouldBe((byte)0);
        filled.Count(v => v == 1).ShouldBe(mask.Count(v => v == 1) + 1);
    }

    [Fact]
    public void DiagonalGapDoesNotLetBackgroundOut()
    {
        // Background is 4-connected: the hole at (1,1) touches the outside only through corners.
        var grid = new VoxelGrid(3, 3, 1);
        var mask = new MaskBuilder(grid).Set(1, 0).Set(0, 1).Set(2, 1).Set(1, 2);

        PostProcessing.FillHolesPerSlice(mask, grid)[grid.Index(1, 1, 0)].ShouldBe((byte)1);
    }

    [Fact]
    public void TubeAlongZIsFilledPerSliceButNotIn3D()
    {
        // A ring in every slice: closed in-plane, its lumen open to the top and bottom of the stack.
        var grid = new VoxelGrid(5, 5, 4);
        var tube = new MaskBuilder(grid).Box(1, 3, 1, 3, 0, 3);
        for (int z = 0; z < 4; z++) tube.Clear(2, 2, z);

        PostProcessing.FillHolesPerSlice(tube, grid).ShouldBe(new MaskBuilder(grid).Box(1, 3, 1, 3, 0, 3).Voxels);
        PostProcessing.FillHolesVolume(tube, grid).ShouldBe(tube.Voxels);
    }

    [Fact]
    public void ClosedCavityIsFilledIn3D()
    {
        var grid = new VoxelGrid(5, 5, 5);
        var shell = new MaskBuilder(grid).Box(1, 3, 1, 3, 1, 3).Clear(2, 2, 2);

        PostProcessing.FillHolesVolume(shell, grid).ShouldBe(new MaskBuilder(grid).Box(1, 3, 1, 3, 1, 3).Voxels);
    }

    [Fact]
    public void ThresholdIsStrictAndTreatsNaNAsBackground()
    {
        PostProcessing.Threshold([0.2f, 0.5f, 0.51f, float.NaN, 1f], 0.5f).ShouldBe(new byte[] { 0, 0, 1, 0, 1 });
        Should.Throw<ArgumentOutOfRangeException>(() => PostProcessing.Threshold([0.5f], 1.5f));
    }

    [Fact]
    public void ThresholdGivesEveryVoxelItsOwnAnswerAtAnyLength()
    {
        // Lengths around the vectorised steps of 32, with NaN, infinities and values at the threshold itself.
        var values = Gen.OneOf(Gen.Float[0f, 1f], Gen.Const(0.5f), Gen.Const(float.NaN), Gen.Const(float.PositiveInfinity), Gen.Const(float.NegativeInfinity));
        Gen.Select(values.Array[0, 100], Gen.Float[0f, 1f]).Sample((probabilities, threshold) =>
            PostProcessing.Threshold(probabilities, threshold).ShouldBe([.. probabilities.Select(p => p > threshold ? (byte)1 : (byte)0)]), iter: 500);
    }

    [Fact]
    public void DefaultOptionsRemoveSpecklesAndFillHoles()
    {
        var grid = new VoxelGrid(8, 8, 2);
        // Holes at (2,2,0) and (3,3,1) and a speckle at (7,7,1).
        var noisy = new MaskBuilder(grid).Box(1, 4, 1, 4, 0, 1).Clear(2, 2, 0).Clear(3, 3, 1).Set(7, 7, 1);

        PostProcessing.Apply(noisy, grid, PostProcessingOptions.Default).ShouldBe(new MaskBuilder(grid).Box(1, 4, 1, 4, 0, 1).Voxels);
        PostProcessing.Apply(noisy, grid, PostProcessingOptions.None).ShouldBe(noisy.Voxels);
    }

    [Fact]
    public void PostProcessingLawsHoldOnRandomMasks()
    {
        var cases =
            from sizeX in Gen.Int[1, 8]
            from sizeY in Gen.Int[1, 8]
            from sizeZ in Gen.Int[1, 4]
            from density in Gen.Int[1, 9]
            from draws in Gen.Int[0, 9].Array[sizeX * sizeY * sizeZ]
            select (Grid: new VoxelGrid(sizeX, sizeY, sizeZ), Mask: draws.Select(d => d < density ? (byte)1 : (byte)0).ToArray());

        cases.Sample(c =>
        {
            foreach (var connectivity in (ComponentConnectivity[])[ComponentConnectivity.Faces, ComponentConnectivity.Full])
            {
                byte[] largest = PostProcessing.KeepLargestComponent(c.Mask, c.Grid, connectivity);
                largest.Zip(c.Mask).ShouldAllBe(p => p.First <= p.Second);                             // a subset
                PostProcessing.KeepLargestComponent(largest, c.Grid, connectivity).ShouldBe(largest);   // one component
                byte[] rest = [.. c.Mask.Zip(largest, (m, l) => (byte)(m & ~l & 1))];
                PostProcessing.KeepLargestComponent(rest, c.Grid, connectivity).Count(v => v == 1)
                    .ShouldBeLessThanOrEqualTo(largest.Count(v => v == 1));                            // none larger
            }

            byte[] perSlice = PostProcessing.FillHolesPerSlice(c.Mask, c.Grid);
            byte[] volume = PostProcessing.FillHolesVolume(c.Mask, c.Grid);
            volume.Zip(c.Mask).ShouldAllBe(p => p.First >= p.Second);                  // a superset
            if (c.Grid.SizeX > 1 || c.Grid.SizeY > 1)                                 // (a 1×1 slice encloses nothing)
                volume.Zip(perSlice).ShouldAllBe(p => p.First <= p.Second);            // closed in 3D ⇒ closed in-plane
            PostProcessing.FillHolesPerSlice(perSlice, c.Grid).ShouldBe(perSlice);      // no holes left
            PostProcessing.FillHolesVolume(volume, c.Grid).ShouldBe(volume);
        }, iter: 300);
    }

    private sealed class CleanedComparer : IEqualityComparer<(byte[] Mask, int Components)>
    {
        public bool Equals((byte[] Mask, int Components) a, (byte[] Mask, int Components) b) => a.Mask.SequenceEqual(b.Mask) && a.Components == b.Components;
        public int GetHashCode((byte[] Mask, int Components) value) => value.Components;
    }
}
