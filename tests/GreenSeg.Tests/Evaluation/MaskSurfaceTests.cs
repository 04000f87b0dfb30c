using GreenSeg.Common;
using GreenSeg.Evaluation;

namespace GreenSeg.Tests.Evaluation;

public class MaskSurfaceTests
{
    [Fact]
    public void CubeInteriorIsNotSurface()
    {
        var grid = new VoxelGrid(5, 5, 5);
        bool[] surface = MaskSurface.Extract(new MaskBuilder(grid).Box(1, 3, 1, 3, 1, 3), grid);

        surface.Count(s => s).ShouldBe(26);                // 27 voxels, the centre is enclosed
        surface[grid.Index(2, 2, 2)].ShouldBeFalse();
    }

    [Fact]
    public void FaceConnectivityDoesNotCountDiagonalBackground()
    {
        // A plus-shaped 2D mask: the centre has only foreground face neighbours although its diagonal
        // neighbours are background, so with 4-connectivity it is interior.
        var grid = new VoxelGrid(3, 3, 1);
        bool[] surface = MaskSurface.Extract(new MaskBuilder(grid).Set(1, 0).Set(0, 1).Set(1, 1).Set(2, 1).Set(1, 2), grid);

        surface[grid.Index(1, 1, 0)].ShouldBeFalse();
        surface.Count(s => s).ShouldBe(4);
    }

    [Fact]
    public void SingleSliceIsTwoDimensionalNotAThinSlab()
    {
        var grid = new VoxelGrid(5, 5, 1);
        bool[] surface = MaskSurface.Extract(new MaskBuilder(grid).Box(1, 3, 1, 3), grid);

        surface.Count(s => s).ShouldBe(8);
        surface[grid.Index(2, 2, 0)].ShouldBeFalse();
    }

    [Fact]
    public void ForegroundOnTheImageBorderIsSurface()
    {
        var grid = new VoxelGrid(3, 3, 3);
        bool[] surface = MaskSurface.Extract(new MaskBuilder(grid).Box(0, 2, 0, 2, 0, 2), grid);

        surface.Count(s => s).ShouldBe(26);
        surface[grid.Index(1, 1, 1)].ShouldBeFalse();
    }

    [Fact]
    public void EmptyMaskHasNoSurface()
    {
        var grid = new VoxelGrid(4, 4, 2);
        MaskSurface.Extract(new byte[grid.VoxelCount], grid).ShouldAllBe(s => !s);
    }
}
