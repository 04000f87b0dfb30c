using CsCheck;
using GreenSeg.Imaging;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Transforms;

public class InPlaneOrientationTests
{
    public static TheoryData<int, int> Storages()
    {
        var data = new TheoryData<int, int>();
        foreach (var (order, flipMask) in OrientedVolume.AllStorages()) data.Add(order, flipMask);
        return data;
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public void Every_storage_of_one_volume_gives_the_same_canonical_slices_and_inverts_bit_exactly(int order, int flipMask)
    {
        var volume = new OrientedVolume(order, flipMask);
        var orientation = InPlaneOrientation.FromAffine(volume.Affine);
        int width = volume.Size[0], height = volume.Size[1];

        for (int k = 0; k < volume.Size[2]; k++)
        {
            float[] slice = volume.Slice(k);
            int position = volume.ReferenceVoxel(0, 0, k)[volume.ThroughPlaneWorldAxis];
            var expected = OrientedVolume.CanonicalReferenceSlice(volume.ThroughPlaneWorldAxis, position);

            orientation.Size(width, height).ShouldBe((expected.Width, expected.Height));
            orientation.Spacing(volume.Spacing[0], volume.Spacing[1]).ShouldBe((expected.SpacingX, expected.SpacingY));
            float[] canonical = orientation.Apply<float>(slice, width, height);
            canonical.ShouldBe(expected.Values);
            orientation.Invert<float>(canonical, width, height).ShouldBe(slice);

            byte[] labels = slice.Select(v => (byte)v).ToArray();
            byte[] canonicalLabels = orientation.Apply<byte>(labels, width, height);
            canonicalLabels.ShouldBe(expected.Values.Select(v => (byte)v).ToArray());
            orientation.Invert<byte>(canonicalLabels, width, height).ShouldBe(labels);
        }
    }

    [Fact]
    public void Exactly_the_storages_already_canonical_in_plane_are_the_identity()
    {
        foreach (var (order, flipMask) in OrientedVolume.AllStorages())
        {
            var volume = new OrientedVolume(order, flipMask);
            // i and j along the in-plane world axes in world order, both increasing; the direction of k does not matter.
            bool canonical = volume.WorldAxes[0] < volume.WorldAxes[1] && !volume.Flipped[0] && !volume.Flipped[1];
            InPlaneOrientation.FromAffine(volume.Affine).IsIdentity.ShouldBe(canonical, $"order {order}, flips {flipMask}");
        }
        InPlaneOrientation.Identity.IsIdentity.ShouldBeTrue();
        new InPlaneOrientation(Transpose: false, FlipX: false, FlipY: true).IsIdentity.ShouldBeFalse();
    }

    [Theory]
    [InlineData("RAS", false, false, false)]
    [InlineData("LAS", false, true, false)]
    [InlineData("LPS", false, true, true)]
    [InlineData("PIR", false, true, true)]
    [InlineData("LIP", false, true, true)]
    [InlineData("PSL", false, true, false)]
    [InlineData("LSP", false, true, false)]
    [InlineData("IRP", true, false, true)]
    [InlineData("IAR", true, false, true)]
    public void Axis_codes_seen_in_fetal_stacks_map_as_the_rule_says(string axisCode, bool transpose, bool flipX, bool flipY) =>
        InPlaneOrientation.FromAffine(AffineOf(axisCode)).ShouldBe(new InPlaneOrientation(transpose, flipX, flipY));

    [Fact]
    public void Qfac_minus_one_reverses_only_the_through_plane_axis_so_the_in_plane_orientation_is_unchanged()
    {
        // A quarter turn about z: i runs along +y, j along -x.
        var header = new NiftiHeader { QFormCode = 1, QuaternD = Math.Sqrt(0.5), PixDim = [1, 0.8, 0.9, 3, 0, 0, 0, 0] };
        var positive = InPlaneOrientation.FromAffine(header.Affine());
        header.PixDim[0] = -1;
        double[,] mirrored = header.Affine();

        Determinant(mirrored).ShouldBeLessThan(0);
        positive.ShouldBe(new InPlaneOrientation(Transpose: true, FlipX: true, FlipY: false));
        InPlaneOrientation.FromAffine(mirrored).ShouldBe(positive);
    }

    [Fact]
    public void Negative_determinant_sforms_are_handled_like_any_other()
    {
        var volume = new OrientedVolume([1, 0, 2], [false, false, false]); // i along +y, j along +x, k along +z: a mirror
        Determinant(volume.Affine).ShouldBeLessThan(0);
        InPlaneOrientation.FromAffine(volume.Affine).ShouldBe(new InPlaneOrientation(Transpose: true, FlipX: false, FlipY: false));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Oblique_stacks_snap_to_the_nearest_axes(int tiltAxis)
    {
        foreach (var (order, flipMask) in OrientedVolume.AllStorages())
        {
            var volume = new OrientedVolume(order, flipMask);
            double[,] tilted = Multiply(Rotation(tiltAxis, 40 * Math.PI / 180), volume.Affine);
            InPlaneOrientation.FromAffine(tilted).ShouldBe(InPlaneOrientation.FromAffine(volume.Affine), $"order {order}, flips {flipMask}");
        }
    }

    [Fact]
    public void An_affine_without_in_plane_directions_leaves_slices_as_stored()
    {
        InPlaneOrientation.FromAffine(new double[4, 4]).ShouldBe(InPlaneOrientation.Identity);
        InPlaneOrientation.FromAffine(new double[,] { { double.NaN, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }).ShouldBe(InPlaneOrientation.Identity);
        Should.Throw<ArgumentException>(() => InPlaneOrientation.FromAffine(new double[2, 2]));
    }

    [Fact]
    public void Any_size_round_trips_through_all_eight_orientations()
    {
        Gen.Select(Gen.Int[1, 9], Gen.Int[1, 9], Gen.Int[0, 7]).Sample((width, height, bits) =>
        {
            var orientation = new InPlaneOrientation((bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0);
            float[] slice = Enumerable.Range(0, width * height).Select(i => i * 0.37f - 3).ToArray();
            float[] canonical = orientation.Apply<float>(slice, width, height);
            canonical.Order().ShouldBe(slice.Order());
            orientation.Invert<float>(canonical, width, height).ShouldBe(slice);
        });
    }

    [Fact]
    public void Rejects_sizes_that_do_not_match_the_values()
    {
        var orientation = new InPlaneOrientation(true, false, false);
        Should.Throw<ArgumentException>(() => orientation.Apply<float>(new float[5], 2, 3));
        Should.Throw<ArgumentException>(() => orientation.Invert<byte>(new byte[6], 2, 3, new byte[5]));
        Should.Throw<ArgumentOutOfRangeException>(() => orientation.Apply<float>([], 0, 0));
    }

    private static double[,] AffineOf(string axisCode)
    {
        var affine = new double[4, 4];
        affine[3, 3] = 1;
        for (int s = 0; s < 3; s++)
        {
            (int axis, double sign) = axisCode[s] switch
            {
                'R' => (0, 1.0), 'L' => (0, -1.0), 'A' => (1, 1.0), 'P' => (1, -1.0), 'S' => (2, 1.0), 'I' => (2, -1.0),
                _ => throw new ArgumentException(axisCode),
            };
            affine[axis, s] = sign;
        }
        return affine;
    }

    private static double Determinant(double[,] m) =>
        m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
        - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
        + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);

    private static double[,] Rotation(int axis, double angle)
    {
        double c = Math.Cos(angle), s = Math.Sin(angle);
        int a = (axis + 1) % 3, b = (axis + 2) % 3;
        var rotation = new double[4, 4];
        for (int i = 0; i < 4; i++) rotation[i, i] = 1;
        rotation[a, a] = c; rotation[a, b] = -s;
        rotation[b, a] = s; rotation[b, b] = c;
        return rotation;
    }

    private static double[,] Multiply(double[,] left, double[,] right)
    {
        var product = new double[4, 4];
        for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
        for (int k = 0; k < 4; k++)
            product[i, j] += left[i, k] * right[k, j];
        return product;
    }
}
