using CsCheck;
using GreenSeg.Data;

namespace GreenSeg.Tests.Data;

public sealed class VolumePlanesTests
{
    private static readonly Gen<(int X, int Y, int Z, CutAxis Axis)> Volumes =
        Gen.Select(Gen.Int[1, 9], Gen.Int[1, 9], Gen.Int[1, 9], Gen.Enum<CutAxis>());

    [Fact]
    public void Every_voxel_lies_in_exactly_one_plane_of_each_axis_and_adding_the_planes_rebuilds_the_volume()
    {
        Volumes.Sample(v =>
        {
            var planes = new VolumePlanes(v.Axis, v.X, v.Y, v.Z);
            float[] volume = Enumerable.Range(1, v.X * v.Y * v.Z).Select(i => (float)i).ToArray();
            var rebuilt = new float[volume.Length];
            var plane = new float[planes.PixelCount];
            for (int p = 0; p < planes.Count; p++)
            {
                planes.Read<float>(volume, p, plane);
                planes.Add(plane, p, rebuilt);
            }
            (planes.Count * planes.PixelCount).ShouldBe(volume.Length);
            rebuilt.ShouldBe(volume);
        });
    }

    [Fact]
    public void A_plane_across_x_runs_along_y_and_through_the_slices_with_their_spacing()
    {
        var planes = new VolumePlanes(CutAxis.X, 4, 3, 2);
        (planes.Count, planes.Width, planes.Height).ShouldBe((4, 3, 2));
        planes.VoxelIndex(plane: 1, u: 2, v: 1).ShouldBe(1 + 4 * (2 + 3 * 1));
        planes.Spacing(0.5, 0.75, 3).ShouldBe((0.75, 3.0));
        var acrossY = new VolumePlanes(CutAxis.Y, 4, 3, 2);
        (acrossY.Count, acrossY.Width, acrossY.Height).ShouldBe((3, 4, 2));
        acrossY.Spacing(0.5, 0.75, 3).ShouldBe((0.5, 3.0));
        var stored = new VolumePlanes(CutAxis.Z, 4, 3, 2);
        (stored.Count, stored.Width, stored.Height).ShouldBe((2, 4, 3));
        stored.Spacing(0.5, 0.75, 3).ShouldBe((0.5, 0.75));
    }

    [Fact]
    public void A_plane_affine_lists_its_column_axis_its_row_axis_then_its_normal()
    {
        var affine = new double[4, 4] { { 1, 2, 3, 10 }, { 4, 5, 6, 11 }, { 7, 8, 9, 12 }, { 0, 0, 0, 1 } };
        new VolumePlanes(CutAxis.X, 2, 2, 2).PlaneAffine(affine).ShouldBe(new double[3, 3] { { 2, 3, 1 }, { 5, 6, 4 }, { 8, 9, 7 } });
        new VolumePlanes(CutAxis.Y, 2, 2, 2).PlaneAffine(affine).ShouldBe(new double[3, 3] { { 1, 3, 2 }, { 4, 6, 5 }, { 7, 9, 8 } });
        new VolumePlanes(CutAxis.Z, 2, 2, 2).PlaneAffine(affine).ShouldBe(new double[3, 3] { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } });
    }

    [Fact]
    public void A_plane_outside_the_volume_or_a_buffer_of_the_wrong_size_is_refused()
    {
        var planes = new VolumePlanes(CutAxis.Y, 4, 3, 2);
        Should.Throw<ArgumentOutOfRangeException>(() => planes.Read<float>(new float[24], 3, new float[8]));
        Should.Throw<ArgumentException>(() => planes.Read<float>(new float[24], 0, new float[6]));
        Should.Throw<ArgumentException>(() => planes.Add(new float[8], 0, new float[23]));
    }
}
