using GreenSeg.Common;

namespace GreenSeg.Tests.Common;

public class VoxelBoxTests
{
    [Fact]
    public void EnclosesBothMasksAcrossRowsAndSlices()
    {
        var grid = new VoxelGrid(5, 4, 3);
        var a = new byte[grid.VoxelCount];
        var b = new byte[grid.VoxelCount];
        a[grid.Index(3, 2, 0)] = 1;
        b[grid.Index(1, 0, 2)] = 7;

        VoxelBox.Enclosing(grid, a, b).ShouldBe(new VoxelBox(1, 0, 0, 3, 3, 3));
        VoxelBox.Enclosing(grid, a).ShouldBe(new VoxelBox(3, 2, 0, 1, 1, 1));
        VoxelBox.Enclosing(grid, new byte[grid.VoxelCount]).ShouldBeNull();
    }

    [Fact]
    public void GrownBoxCropsDefaultsPastTheEdgeAndPastesBackOnlyTheInside()
    {
        var grid = new VoxelGrid(3, 2, 1);
        int[] values = [1, 2, 3, 4, 5, 6];
        var box = new VoxelBox(0, 0, 0, 2, 1, 1).Grown(alongX: true, alongY: true, alongZ: false);   // x −1..2, y −1..1

        box.ShouldBe(new VoxelBox(-1, -1, 0, 4, 3, 1));
        int[] cropped = box.Crop<int>(values, grid);
        cropped.ShouldBe([0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6]);

        int[] target = new int[6];
        box.Paste<int>([.. cropped.Select(v => v * 10)], target, grid);
        target.ShouldBe([10, 20, 30, 40, 50, 60]);
    }
}
