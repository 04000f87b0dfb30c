using CsCheck;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Transforms;

public class SlicePreprocessorTests
{
    private static readonly PreprocessingOptions GeometryOnly = new() { Normalization = IntensityNormalization.None };

    [Fact]
    public void Two_by_two_at_2mm_resampled_to_1mm_interpolates_between_pixel_centres()
    {
        var preprocessor = new SlicePreprocessor(GeometryOnly with { TargetWidth = 4, TargetHeight = 4 });
        float[] image = [0, 4, 8, 12]; // row y=0: 0 4; row y=1: 8 12

        PreprocessedSlice result = preprocessor.Forward(image, [], 2, 2, 2.0, 2.0);

        result.Record.ShouldBe(new PreprocessingRecord(2, 2, 2.0, 2.0, 4, 4, 0, 0, 4, 4));
        // New pixel centres fall at source coordinates -0.25, 0.25, 0.75, 1.25 (edges clamped).
        result.Image.ShouldBe([0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12]);
    }

    [Fact]
    public void Mask_resampling_is_nearest_neighbour()
    {
        var preprocessor = new SlicePreprocessor(GeometryOnly with { TargetWidth = 4, TargetHeight = 2 });
        PreprocessedSlice result = preprocessor.Forward([0f, 0f], [0, 1], 2, 1, 2.0, 2.0);

        result.Record.ResampledHeight.ShouldBe(2);
        result.Mask.ShouldBe(new byte[] { 0, 0, 1, 1, 0, 0, 1, 1 });
    }

    [Fact]
    public void Z_score_uses_the_nonzero_voxels_and_keeps_zeros()
    {
        var preprocessor = new SlicePreprocessor(new PreprocessingOptions { TargetWidth = 2, TargetHeight = 2 });
        float[] output = preprocessor.Forward([0, 2, 4, 6], [], 2, 2, 1.0, 1.0).Image;

        double std = Math.Sqrt(8.0 / 3.0); // nonzero values 2, 4, 6: mean 4
        output[0].ShouldBe(0f);
        output[1].ShouldBe((float)(-2 / std), 1e-6f);
        output[2].ShouldBe(0f);
        output[3].ShouldBe((float)(2 / std), 1e-6f);
    }

    [Fact]
    public void Z_score_of_a_constant_slice_centres_it_and_an_all_zero_slice_stays_zero()
    {
        var preprocessor = new SlicePreprocessor(new PreprocessingOptions { TargetWidth = 2, TargetHeight = 1 });
        preprocessor.Forward([5, 5], [], 2, 1, 1.0, 1.0).Image.ShouldBe([0f, 0f]);
        preprocessor.Forward([0, 0], [], 2, 1, 1.0, 1.0).Image.ShouldBe([0f, 0f]);
    }

    [Theory]
    [InlineData(256, 251, 2)]  // pad 5: 2 before, 3 after
    [InlineData(256, 261, -2)] // crop 5: 2 before, 3 after
    [InlineData(5, 2, 1)]
    [InlineData(4, 7, -1)]
    [InlineData(256, 256, 0)]
    public void Centre_offsets_put_an_odd_extra_pixel_at_the_far_end(int canvas, int content, int expected) =>
        SlicePreprocessor.CentreOffset(canvas, content).ShouldBe(expected);

    [Fact]
    public void Padding_an_odd_sized_slice_places_it_by_the_offsets()
    {
        var preprocessor = new SlicePreprocessor(GeometryOnly with { TargetWidth = 6, TargetHeight = 4 });
        PreprocessedSlice result = preprocessor.Forward([1, 2, 3], [1, 1, 0], 3, 1, 1.0, 1.0);

        result.Record.OffsetX.ShouldBe(1);
        result.Record.OffsetY.ShouldBe(1);
        float[] expected = new float[24];
        expected[1 + 6] = 1; expected[2 + 6] = 2; expected[3 + 6] = 3;
        result.Image.ShouldBe(expected);
        result.Mask![1 + 6].ShouldBe((byte)1);
        result.Mask.Sum(b => b).ShouldBe(2);
    }

    [Theory]
    [InlineData(128, 128, 2.34375, 300, -22)]
    [InlineData(100, 100, 3.0, 300, -22)]
    [InlineData(256, 256, 0.9375, 240, 8)]
    [InlineData(256, 256, 1.0, 256, 0)]
    public void Plans_the_real_sequence_geometries(int width, int height, double spacing, int resampled, int offset)
    {
        PreprocessingRecord record = new SlicePreprocessor(new PreprocessingOptions()).Plan(width, height, spacing, spacing);
        record.ResampledWidth.ShouldBe(resampled);
        record.ResampledHeight.ShouldBe(resampled);
        record.OffsetX.ShouldBe(offset);
        record.OffsetY.ShouldBe(offset);
        record.TargetLength.ShouldBe(256 * 256);
    }

    [Fact]
    public void Inverse_restores_shape_and_geometry()
    {
        var preprocessor = new SlicePreprocessor(new PreprocessingOptions());
        var image = new float[128 * 96];
        for (int i = 0; i < image.Length; i++) image[i] = i % 17 + 1;
        PreprocessedSlice slice = preprocessor.Forward(image, [], 128, 96, 2.3, 2.1);

        slice.Image.Length.ShouldBe(256 * 256);
        SlicePreprocessor.InverseProbabilities(slice.Image, slice.Record).Length.ShouldBe(128 * 96);
        SlicePreprocessor.InverseLabels(new byte[256 * 256], slice.Record).Length.ShouldBe(128 * 96);
        slice.Record.OriginalWidth.ShouldBe(128);
        slice.Record.OriginalHeight.ShouldBe(96);
        slice.Record.OriginalSpacingX.ShouldBe(2.3);
        slice.Record.OriginalSpacingY.ShouldBe(2.1);
    }

    [Fact]
    public void Pad_and_crop_inverse_is_exact_at_identity_spacing_for_any_size()
    {
        Gen.Select(Gen.Int[1, 80], Gen.Int[1, 80], Gen.Int[1, 80], Gen.Int[1, 80]).Sample((width, height, targetWidth, targetHeight) =>
        {
            var preprocessor = new SlicePreprocessor(GeometryOnly with { TargetWidth = targetWidth, TargetHeight = targetHeight });
            float[] image = Ramp(width, height);
            byte[] mask = image.Select(v => (byte)((int)v % 2)).ToArray();
            PreprocessedSlice slice = preprocessor.Forward(image, mask, width, height, 1.0, 1.0);

            float[] back = SlicePreprocessor.InverseProbabilities(slice.Image, slice.Record);
            byte[] labels = SlicePreprocessor.InverseLabels(slice.Mask!, slice.Record);
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = x + width * y;
                bool kept = x + slice.Record.OffsetX is >= 0 && x + slice.Record.OffsetX < targetWidth
                    && y + slice.Record.OffsetY >= 0 && y + slice.Record.OffsetY < targetHeight;
                if (back[i] != (kept ? image[i] : 0f) || labels[i] != (kept ? mask[i] : 0))
                    throw new Exception($"{width}x{height} on {targetWidth}x{targetHeight}: pixel ({x},{y}) came back as {back[i]}/{labels[i]}");
            }
        }, iter: 300);
    }

    [Fact]
    public void At_any_spacing_the_content_is_centred_and_a_full_mask_that_fits_comes_back_full()
    {
        var preprocessor = new SlicePreprocessor(new PreprocessingOptions { TargetWidth = 64, TargetHeight = 48 });
        Gen.Select(Gen.Int[1, 90], Gen.Int[1, 90], Gen.Double[0.3, 3.0], Gen.Double[0.3, 3.0]).Sample((width, height, spacingX, spacingY) =>
        {
            PreprocessingRecord record = preprocessor.Plan(width, height, spacingX, spacingY);
            // The field of view is kept to within half a pixel, but a side never shrinks below one pixel.
            Math.Abs(record.ResampledWidth - Math.Max(1, width * spacingX)).ShouldBeLessThanOrEqualTo(0.5 + 1e-9);
            Math.Abs(record.ResampledHeight - Math.Max(1, height * spacingY)).ShouldBeLessThanOrEqualTo(0.5 + 1e-9);
            Math.Abs(2 * record.OffsetX + record.ResampledWidth - 64).ShouldBeLessThanOrEqualTo(1);
            Math.Abs(2 * record.OffsetY + record.ResampledHeight - 48).ShouldBeLessThanOrEqualTo(1);

            byte[] full = Enumerable.Repeat((byte)1, width * height).ToArray();
            byte[] back = SlicePreprocessor.InverseLabels(preprocessor.Mask(full, record), record);
            back.Length.ShouldBe(width * height);
            if (record.ResampledWidth <= 64 && record.ResampledHeight <= 48) back.ShouldAllBe(b => b == 1);
        }, iter: 300);
    }

    [Theory]
    [InlineData(128, 128, 2.2, 2.2)]
    [InlineData(100, 100, 3.0, 3.0)]
    [InlineData(256, 256, 0.9, 1.1)]
    [InlineData(300, 280, 0.8, 0.8)] // larger than the canvas after resampling: cropped, brain stays central
    public void A_brain_mask_survives_forward_and_inverse_at_another_spacing(int width, int height, double spacingX, double spacingY)
    {
        var preprocessor = new SlicePreprocessor(new PreprocessingOptions());
        byte[] mask = Ellipse(width, height, 0.5 * width + 3.3, 0.45 * height, 28 / spacingX, 21 / spacingY);
        PreprocessedSlice slice = preprocessor.Forward(new float[width * height], mask, width, height, spacingX, spacingY);

        byte[] labels = SlicePreprocessor.InverseLabels(slice.Mask!, slice.Record);
        Dice(mask, labels).ShouldBeGreaterThan(0.95);

        float[] probabilities = SlicePreprocessor.InverseProbabilities(slice.Mask!.Select(b => (float)b).ToArray(), slice.Record);
        Dice(mask, probabilities.Select(p => p >= 0.5f ? (byte)1 : (byte)0).ToArray()).ShouldBeGreaterThan(0.95);
    }

    [Fact]
    public void Fingerprint_is_stable_and_covers_every_option()
    {
        var defaults = new PreprocessingOptions();
        // Pinned: a change here silently invalidates every cache on disk, so it must be deliberate (bump Version).
        defaults.Fingerprint().ShouldBe(ExpectedDefaultFingerprint);
        new PreprocessingOptions().Fingerprint().ShouldBe(defaults.Fingerprint());

        string[] variants =
        [
            defaults.Fingerprint(),
            (defaults with { TargetSpacing = 0.8 }).Fingerprint(),
            (defaults with { TargetWidth = 192 }).Fingerprint(),
            (defaults with { TargetHeight = 192 }).Fingerprint(),
            (defaults with { Normalization = IntensityNormalization.None }).Fingerprint(),
            (defaults with { CanonicalOrientation = true }).Fingerprint(),
        ];
        variants.Distinct().Count().ShouldBe(variants.Length);
    }

    [Fact]
    public void Rejects_bad_options_and_inputs()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new SlicePreprocessor(new PreprocessingOptions { TargetSpacing = 0 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new SlicePreprocessor(new PreprocessingOptions { TargetWidth = 0 }));
        var preprocessor = new SlicePreprocessor(new PreprocessingOptions());
        Should.Throw<ArgumentOutOfRangeException>(() => preprocessor.Plan(10, 10, double.NaN, 1));
        Should.Throw<ArgumentException>(() => preprocessor.Forward(new float[5], [], 2, 2, 1, 1));
    }

    private const string ExpectedDefaultFingerprint = "8a44d9f299a338a4";

    internal static float[] Ramp(int width, int height)
    {
        var image = new float[width * height];
        for (int i = 0; i < image.Length; i++) image[i] = 1 + i * 0.37f;
        return image;
    }

    internal static byte[] Ellipse(int width, int height, double cx, double cy, double rx, double ry)
    {
        var mask = new byte[width * height];
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            double u = (x - cx) / rx, v = (y - cy) / ry;
            mask[x + width * y] = u * u + v * v <= 1 ? (byte)1 : (byte)0;
        }
        return mask;
    }

    internal static double Dice(byte[] a, byte[] b)
    {
        int both = 0, total = 0;
        for (int i = 0; i < a.Length; i++)
        {
            both += a[i] & b[i];
            total += a[i] + b[i];
        }
        return total == 0 ? 1 : 2.0 * both / total;
    }
}
