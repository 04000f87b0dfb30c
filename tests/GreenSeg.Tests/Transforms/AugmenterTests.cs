using GreenSeg.Transforms;

namespace GreenSeg.Tests.Transforms;

public class AugmenterTests
{
    private const int Size = 64;

    private static readonly AugmentationOptions Everything = new()
    {
        FlipXProbability = 1, FlipYProbability = 1, RotationProbability = 1, ScaleProbability = 1,
        GammaProbability = 1, NoiseProbability = 1, BiasFieldProbability = 1, ShiftProbability = 1,
        IntensityCurveProbability = 1, ResolutionLossProbability = 1,
    };

    [Fact]
    public void Same_seed_gives_the_same_output_and_another_seed_another()
    {
        var augmenter = new Augmenter(Everything);
        (float[] image, byte[] mask) = Sample();

        AugmentedSlice first = augmenter.Augment(image, mask, Size, Size, seed: 11);
        AugmentedSlice again = augmenter.Augment(image, mask, Size, Size, seed: 11);
        AugmentedSlice other = augmenter.Augment(image, mask, Size, Size, seed: 12);

        again.Image.ShouldBe(first.Image);
        again.Mask.ShouldBe(first.Mask);
        other.Image.SequenceEqual(first.Image).ShouldBeFalse();
    }

    [Fact]
    public void Mask_stays_binary_and_keeps_roughly_its_area_under_every_augmentation()
    {
        var augmenter = new Augmenter(Everything);
        (float[] image, byte[] mask) = Sample();
        int area = mask.Sum(b => b);
        for (ulong seed = 0; seed < 20; seed++)
        {
            AugmentedSlice result = augmenter.Augment(image, mask, Size, Size, seed);
            result.Mask!.ShouldAllBe(b => b == 0 || b == 1);
            double ratio = result.Mask!.Sum(b => b) / (double)area;
            double scale = result.Parameters.Scale;
            ratio.ShouldBeInRange(0.85 * scale * scale, 1.15 * scale * scale);
        }
    }

    [Fact]
    public void No_augmentation_returns_the_input_exactly()
    {
        (float[] image, byte[] mask) = Sample();
        AugmentedSlice result = new Augmenter(AugmentationOptions.None).Augment(image, mask, Size, Size, seed: 5);
        result.Image.ShouldBe(image);
        result.Mask.ShouldBe(mask);
        result.Parameters.IsSpatialIdentity.ShouldBeTrue();
    }

    [Fact]
    public void Flips_mirror_image_and_mask_exactly()
    {
        (float[] image, byte[] mask) = Sample();
        var flip = new AugmentationParameters(FlipX: true, FlipY: true, 0, 1, 1, 0, new double[Augmenter.BiasTerms], 0);
        var imageOut = new float[image.Length];
        var maskOut = new byte[mask.Length];

        Augmenter.Apply(flip, image, mask, Size, Size, imageOut, maskOut);

        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
        {
            int source = (Size - 1 - x) + Size * (Size - 1 - y);
            imageOut[x + Size * y].ShouldBe(image[source]);
            maskOut[x + Size * y].ShouldBe(mask[source]);
        }
    }

    [Fact]
    public void A_quarter_turn_moves_pixels_where_expected()
    {
        (float[] image, byte[] mask) = Sample();
        var turn = new AugmentationParameters(false, false, RotationDegrees: 90, 1, 1, 0, new double[Augmenter.BiasTerms], 0);
        var imageOut = new float[image.Length];
        var maskOut = new byte[mask.Length];

        Augmenter.Apply(turn, image, mask, Size, Size, imageOut, maskOut);

        // Output (x, y) reads input at (y, Size - 1 - x) for a 90° turn about the centre.
        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
        {
            int source = y + Size * (Size - 1 - x);
            imageOut[x + Size * y].ShouldBe(image[source], 1e-3f);
            maskOut[x + Size * y].ShouldBe(mask[source]);
        }
    }

    [Fact]
    public void A_shift_moves_image_and_mask_by_whole_pixels()
    {
        (float[] image, byte[] mask) = Sample();
        // 0.125 of 64 pixels: 8 to the right, -4 (up) in y.
        var shift = new AugmentationParameters(false, false, 0, 1, 1, 0, new double[Augmenter.BiasTerms], 0, ShiftX: 0.125, ShiftY: -0.0625);
        var imageOut = new float[image.Length];
        var maskOut = new byte[mask.Length];

        Augmenter.Apply(shift, image, mask, Size, Size, imageOut, maskOut);

        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
        {
            int sx = x - 8, sy = y + 4;
            bool inside = sx >= 0 && sy >= 0 && sx < Size && sy < Size;
            imageOut[x + Size * y].ShouldBe(inside ? image[sx + Size * sy] : 0f, 1e-4f);
            maskOut[x + Size * y].ShouldBe(inside ? mask[sx + Size * sy] : (byte)0);
        }
    }

    [Fact]
    public void An_inverted_intensity_curve_reverses_the_order_of_intensities_and_keeps_mean_and_spread()
    {
        (float[] image, _) = Sample();
        var invert = new AugmentationParameters(false, false, 0, 1, 1, 0, new double[Augmenter.BiasTerms], 0, IntensityCurve: [1, 0.5, 0]);
        var imageOut = new float[image.Length];

        Augmenter.Apply(invert, image, [], Size, Size, imageOut, []);

        int darkest = Array.IndexOf(image, image.Min()), brightest = Array.IndexOf(image, image.Max());
        imageOut[darkest].ShouldBe(imageOut.Max(), 1e-4f);
        imageOut[brightest].ShouldBe(imageOut.Min(), 1e-4f);
        imageOut.Average().ShouldBe(image.Average(), 1e-3);
        Std(imageOut).ShouldBe(Std(image), 1e-3);
    }

    [Fact]
    public void Drawn_intensity_curves_are_monotone_from_end_to_end()
    {
        var augmenter = new Augmenter(Everything);
        int inverted = 0;
        for (ulong seed = 0; seed < 200; seed++)
        {
            double[] curve = augmenter.Draw(seed).IntensityCurve!;
            curve.Length.ShouldBe(Everything.IntensityCurveKnots + 2);
            bool descending = curve[0] == 1;
            if (descending) inverted++;
            (descending ? curve.Reverse().ToArray() : curve).ShouldBe(curve.Order().ToArray());
            new[] { curve[0], curve[^1] }.Order().ShouldBe([0.0, 1.0]);
        }
        inverted.ShouldBeInRange(70, 130); // InvertProbability 0.5 over 200 draws
    }

    [Fact]
    public void Gamma_keeps_mean_and_spread()
    {
        (float[] image, _) = Sample();
        var gamma = new AugmentationParameters(false, false, 0, 1, Gamma: 1.4, 0, new double[Augmenter.BiasTerms], 0);
        var imageOut = new float[image.Length];

        Augmenter.Apply(gamma, image, [], Size, Size, imageOut, []);

        imageOut.SequenceEqual(image).ShouldBeFalse();
        imageOut.Average().ShouldBe(image.Average(), 1e-3);
        Std(imageOut).ShouldBe(Std(image), 1e-3);
    }

    [Fact]
    public void Noise_has_the_drawn_spread()
    {
        var flat = new float[Size * Size];
        var noise = new AugmentationParameters(false, false, 0, 1, 1, NoiseSigma: 0.1, new double[Augmenter.BiasTerms], 99);
        var imageOut = new float[flat.Length];

        Augmenter.Apply(noise, flat, [], Size, Size, imageOut, []);

        Std(imageOut).ShouldBe(0.1, 0.01);
    }

    [Fact]
    public void Resolution_loss_blurs_the_image_keeps_its_mean_and_leaves_the_mask_exact()
    {
        (float[] image, byte[] mask) = Sample();
        var checkerboard = new float[image.Length];
        for (int i = 0; i < image.Length; i++) checkerboard[i] = image[i] + ((i % Size + i / Size) % 2 == 0 ? 1f : -1f);
        var coarser = new AugmentationParameters(false, false, 0, 1, 1, 0, new double[Augmenter.BiasTerms], 0, ResolutionLossFactor: 2);
        var imageOut = new float[image.Length];
        var maskOut = new byte[mask.Length];

        Augmenter.Apply(coarser, checkerboard, mask, Size, Size, imageOut, maskOut);

        maskOut.ShouldBe(mask);
        // The pixel-scale pattern is gone (halving the resolution cannot hold it), the slow structure stays.
        NeighbourDifference(imageOut).ShouldBeLessThan(0.25 * NeighbourDifference(checkerboard));
        imageOut.Average().ShouldBe(checkerboard.Average(), 0.05);
        Correlation(imageOut, image).ShouldBeGreaterThan(0.95);

        var unchanged = new float[image.Length];
        Augmenter.Apply(coarser with { ResolutionLossFactor = 1 }, checkerboard, [], Size, Size, unchanged, []);
        unchanged.ShouldBe(checkerboard);
    }

    private static double NeighbourDifference(float[] image) =>
        Enumerable.Range(0, image.Length).Where(i => i % Size < Size - 1).Average(i => Math.Abs(image[i + 1] - image[i]));

    private static double Correlation(float[] a, float[] b)
    {
        double meanA = a.Average(), meanB = b.Average(), ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += (a[i] - meanA) * (b[i] - meanB);
            aa += (a[i] - meanA) * (a[i] - meanA);
            bb += (b[i] - meanB) * (b[i] - meanB);
        }
        return ab / Math.Sqrt(aa * bb);
    }

    [Fact]
    public void Bias_field_is_smooth_and_keeps_the_minimum()
    {
        (float[] image, _) = Sample();
        var bias = new AugmentationParameters(false, false, 0, 1, 1, 0, [0.3, -0.2, 0.1, 0.2, -0.1], 0);
        var imageOut = new float[image.Length];

        Augmenter.Apply(bias, image, [], Size, Size, imageOut, []);

        imageOut.Min().ShouldBe(image.Min(), 1e-5f);
        imageOut.SequenceEqual(image).ShouldBeFalse();
    }

    [Fact]
    public void Changing_one_probability_does_not_change_the_other_draws()
    {
        AugmentationParameters all = new Augmenter(Everything).Draw(21);
        AugmentationParameters withoutNoise = new Augmenter(Everything with { NoiseProbability = 0 }).Draw(21);

        withoutNoise.NoiseSigma.ShouldBe(0);
        withoutNoise.RotationDegrees.ShouldBe(all.RotationDegrees);
        withoutNoise.Scale.ShouldBe(all.Scale);
        withoutNoise.Gamma.ShouldBe(all.Gamma);
        withoutNoise.BiasCoefficients.ShouldBe(all.BiasCoefficients);
    }

    [Fact]
    public void Draws_stay_within_the_options()
    {
        var augmenter = new Augmenter(Everything);
        for (ulong seed = 0; seed < 200; seed++)
        {
            AugmentationParameters p = augmenter.Draw(seed);
            Math.Abs(p.RotationDegrees).ShouldBeLessThanOrEqualTo(Everything.MaxRotationDegrees);
            p.Scale.ShouldBeInRange(Everything.MinScale, Everything.MaxScale);
            p.Gamma.ShouldBeInRange(Everything.MinGamma, Everything.MaxGamma);
            p.NoiseSigma.ShouldBeInRange(0, Everything.MaxNoiseSigma);
            Math.Abs(p.ShiftX).ShouldBeLessThanOrEqualTo(Everything.MaxShiftFraction);
            Math.Abs(p.ShiftY).ShouldBeLessThanOrEqualTo(Everything.MaxShiftFraction);
            p.ResolutionLossFactor.ShouldBeInRange(1, Everything.MaxResolutionLossFactor);
        }
    }

    [Fact]
    public void Rejects_bad_options_and_sizes()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new Augmenter(new AugmentationOptions { FlipXProbability = 1.5 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new Augmenter(new AugmentationOptions { MinScale = 1.2, MaxScale = 1.1 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new Augmenter(new AugmentationOptions { MaxShiftFraction = 0.7 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new Augmenter(new AugmentationOptions { IntensityCurveProbability = -0.1 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new Augmenter(new AugmentationOptions { MaxResolutionLossFactor = 0.5 }));
        Should.Throw<ArgumentException>(() => new Augmenter(Everything).Augment(new float[10], [], 4, 4, 0));
    }

    /// <summary>A z-scored-like image with structure, and an off-centre ellipse mask.</summary>
    private static (float[] Image, byte[] Mask) Sample()
    {
        var image = new float[Size * Size];
        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
            image[x + Size * y] = MathF.Sin(x * 0.3f) + 0.5f * MathF.Cos(y * 0.17f) + 0.01f * x * y / Size;
        return (image, SlicePreprocessorTests.Ellipse(Size, Size, 30, 34, 12, 8));
    }

    private static double Std(float[] values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
    }
}
