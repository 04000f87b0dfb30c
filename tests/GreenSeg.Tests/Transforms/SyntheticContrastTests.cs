using GreenSeg.Common;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Transforms;

public class SyntheticContrastTests
{
    private const int Size = 64;
    private static readonly AugmentationOptions OnlySyntheticContrast = AugmentationOptions.None with { SyntheticContrastProbability = 1 };

    [Fact]
    public void Intensity_classes_are_deterministic_give_the_requested_count_and_keep_the_brain_to_its_own()
    {
        (float[] image, byte[] mask) = Slice();

        byte[] classes = IntensityClasses.Compute(image, mask, count: 6, brainClasses: 2);

        IntensityClasses.Compute(image, mask, 6, 2).ShouldBe(classes);
        classes.Distinct().Order().ShouldBe(new byte[] { 0, 1, 2, 3, 4, 5 });
        for (int i = 0; i < classes.Length; i++)
            if (mask[i] == 1) classes[i].ShouldBeOneOf((byte)4, (byte)5);
            else classes[i].ShouldBeLessThan((byte)4);
        IntensityClasses.Compute(image, mask, 3, 1).Where((_, i) => mask[i] == 1).ShouldAllBe(c => c == 2);
    }

    [Fact]
    public void Intensity_classes_ascend_with_intensity_within_the_background_and_within_the_brain()
    {
        (float[] image, byte[] mask) = Slice();
        byte[] classes = IntensityClasses.Compute(image, mask, 6, 2);

        foreach (bool inBrain in new[] { false, true })
        {
            var ranges = Enumerable.Range(0, image.Length).Where(i => (mask[i] == 1) == inBrain)
                .GroupBy(i => classes[i]).OrderBy(g => g.Key).Select(g => (Min: g.Min(i => image[i]), Max: g.Max(i => image[i]))).ToList();
            for (int c = 1; c < ranges.Count; c++) ranges[c - 1].Max.ShouldBeLessThanOrEqualTo(ranges[c].Min);
        }
    }

    [Fact]
    public void A_flat_slice_without_brain_gets_one_class_and_bad_class_counts_are_rejected()
    {
        var flat = new float[Size * Size];
        IntensityClasses.Compute(flat, new byte[flat.Length], 6, 2).ShouldAllBe(c => c == 0);
        Should.Throw<ArgumentOutOfRangeException>(() => IntensityClasses.Compute(flat, new byte[flat.Length], 2, 2));
        Should.Throw<ArgumentException>(() => IntensityClasses.Compute(flat, new byte[3], 6, 2));
    }

    [Fact]
    public void Synthetic_contrast_keeps_the_mask_exactly_and_is_seeded()
    {
        (float[] image, byte[] mask) = Slice();
        byte[] classes = IntensityClasses.Compute(image, mask, 6, 2);
        var augmenter = new Augmenter(OnlySyntheticContrast);

        AugmentedSlice first = augmenter.Augment(image, mask, Size, Size, seed: 7, classes);
        AugmentedSlice again = augmenter.Augment(image, mask, Size, Size, seed: 7, classes);
        AugmentedSlice other = augmenter.Augment(image, mask, Size, Size, seed: 8, classes);

        first.Mask.ShouldBe(mask);
        other.Mask.ShouldBe(mask);
        first.Parameters.SyntheticContrastSeed.ShouldNotBeNull();
        again.Image.ShouldBe(first.Image);
        other.Image.SequenceEqual(first.Image).ShouldBeFalse();
        first.Image.SequenceEqual(image).ShouldBeFalse();
    }

    [Fact]
    public void Synthetic_renderings_are_finite_z_scored_and_put_the_brain_both_above_and_below_the_background()
    {
        (float[] image, byte[] mask) = Slice();
        byte[] classes = IntensityClasses.Compute(image, mask, 6, 2);
        var renderer = new SyntheticContrast(new AugmentationOptions { SyntheticContrastMaxDownsampleFactor = 4, SyntheticContrastMaxBlurSigma = 2 });
        int brighterBrain = 0;
        for (ulong seed = 0; seed < 40; seed++)
        {
            float[] rendered = renderer.Render(classes, Size, Size, seed);
            rendered.ShouldAllBe(v => float.IsFinite(v));
            rendered.Average().ShouldBe(0, 1e-4);
            Std(rendered).ShouldBe(1, 1e-3);
            double brain = rendered.Where((_, i) => mask[i] == 1).Average(), background = rendered.Where((_, i) => mask[i] == 0).Average();
            if (brain > background) brighterBrain++;
        }
        brighterBrain.ShouldBeInRange(8, 32); // contrast is drawn, not learnt from one sequence
    }

    [Theory]
    [InlineData(IntensityNormalization.ZScoreNonzero)]
    [InlineData(IntensityNormalization.Percentile)]
    public void Padding_outside_the_field_of_view_is_its_own_class_and_renders_as_padding_does(IntensityNormalization normalization)
    {
        // A 20 x 12 slice on a 32 x 32 canvas: everything else is padding.
        var values = new float[20 * 12];
        var mask = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = 100 + i % 20 * 10;
            mask[i] = (byte)(i % 20 is > 6 and < 12 && i / 20 is > 3 and < 8 ? 1 : 0);
        }
        var options = new GreenSeg.Training.TrainingOptions
        {
            Preprocessing = new() { Size = 32, Spacing = 1, Normalization = normalization },
            Loading = new() { Augmentation = OnlySyntheticContrast },
        };
        var preparation = GreenSeg.Training.SamplePreparation.Create(options);
        var sample = preparation.Prepare(new GreenSeg.Data.RawSlice(values, mask, 20, 12, 1, 1));
        var record = new SlicePreprocessor(options.Preprocessing.ToPreprocessingOptions()).Plan(20, 12, 1, 1);
        byte[] inside = record.FieldOfView();

        inside.Count(v => v == 1).ShouldBe(20 * 12);
        for (int i = 0; i < inside.Length; i++)
            (sample.Classes![i] == IntensityClasses.OutsideFieldOfView).ShouldBe(inside[i] == 0);
        var renderer = new SyntheticContrast(new AugmentationOptions(), normalization);
        for (ulong seed = 0; seed < 5; seed++)
        {
            float[] rendered = renderer.Render(sample.Classes, 32, 32, seed);
            for (int i = 0; i < inside.Length; i++)
                if (inside[i] == 0) rendered[i].ShouldBe(0f);
            rendered.Where((_, i) => inside[i] == 1).Distinct().Count().ShouldBeGreaterThan(10);
        }
    }

    [Fact]
    public void Renderings_end_on_the_scale_of_the_runs_normalisation()
    {
        (float[] image, byte[] mask) = Slice();
        byte[] classes = IntensityClasses.Compute(image, mask, 6, 2);
        var percentile = new SyntheticContrast(new AugmentationOptions(), IntensityNormalization.Percentile);
        var augmenter = new Augmenter(OnlySyntheticContrast with { NoiseProbability = 0, GammaProbability = 0, BiasFieldProbability = 0 }, IntensityNormalization.Percentile);
        for (ulong seed = 0; seed < 10; seed++)
        {
            float[] rendered = percentile.Render(classes, Size, Size, seed);
            var sorted = rendered.Order().ToArray();
            SlicePreprocessor.PercentileOfSorted(sorted, SlicePreprocessor.LowPercentile).ShouldBe(0, 1e-4);
            SlicePreprocessor.PercentileOfSorted(sorted, SlicePreprocessor.HighPercentile).ShouldBe(1, 1e-4);
            var augmented = augmenter.Augment(image, mask, Size, Size, seed, classes);
            if (augmented.Parameters.SyntheticContrastSeed is not null && augmented.Parameters.IsSpatialIdentity)
                SlicePreprocessor.PercentileOfSorted(augmented.Image.Order().ToArray(), SlicePreprocessor.HighPercentile).ShouldBe(1, 1e-4);
        }
    }

    [Fact]
    public void Without_texture_blur_corruption_or_resolution_loss_every_synthetic_class_is_one_intensity()
    {
        (float[] image, byte[] mask) = Slice();
        byte[] classes = IntensityClasses.Compute(image, mask, 6, 2);
        var plain = new SyntheticContrast(new AugmentationOptions
        {
            SyntheticContrastMaxClassStd = 0, SyntheticContrastMaxBlurSigma = 0, SyntheticContrastMaxDownsampleFactor = 1,
            MaxBiasFieldStrength = 0, MinGamma = 1, MaxGamma = 1, MaxNoiseSigma = 0,
        });

        float[] rendered = plain.Render(classes, Size, Size, seed: 3);

        foreach (var group in Enumerable.Range(0, rendered.Length).GroupBy(i => classes[i]))
            group.Select(i => rendered[i]).Distinct().Count().ShouldBe(1);
        rendered.Distinct().Count().ShouldBe(6);
    }

    [Fact]
    public void Synthetic_contrast_is_drawn_after_every_earlier_augmentation_and_needs_the_classes()
    {
        var everything = new AugmentationOptions
        {
            FlipXProbability = 1, RotationProbability = 1, ScaleProbability = 1, GammaProbability = 1, NoiseProbability = 1,
            BiasFieldProbability = 1, ShiftProbability = 1, IntensityCurveProbability = 1,
        };
        for (ulong seed = 0; seed < 20; seed++)
        {
            AugmentationParameters before = new Augmenter(everything).Draw(seed);
            AugmentationParameters with = new Augmenter(everything with { SyntheticContrastProbability = 1 }).Draw(seed);
            with.SyntheticContrastSeed.ShouldNotBeNull();
            (with with { SyntheticContrastSeed = null, BiasCoefficients = before.BiasCoefficients, IntensityCurve = before.IntensityCurve }).ShouldBe(before);
            with.BiasCoefficients.ShouldBe(before.BiasCoefficients);
            with.IntensityCurve.ShouldBe(before.IntensityCurve);
        }
        (float[] image, byte[] mask) = Slice();
        Should.Throw<ArgumentException>(() => new Augmenter(OnlySyntheticContrast).Augment(image, mask, Size, Size, 1)).ParamName.ShouldBe("classes");
        Should.Throw<ArgumentException>(() => new SyntheticContrast(new AugmentationOptions()).Render(Enumerable.Repeat((byte)6, image.Length).ToArray(), Size, Size, 1));
    }

    [Theory]
    [InlineData("synthetic-contrast-probability", 1.5, 6, 2, 1.5, 3)]
    [InlineData("synthetic-contrast-classes", 0.5, 2, 2, 1.5, 3)]
    [InlineData("synthetic-contrast-classes", 0.5, 65, 2, 1.5, 3)]
    [InlineData("synthetic-contrast-brain-classes", 0.5, 6, 3, 1.5, 3)]
    [InlineData("synthetic-contrast-max-blur-sigma", 0.5, 6, 2, -1, 3)]
    [InlineData("synthetic-contrast-max-downsample-factor", 0.5, 6, 2, 1.5, 0.5)]
    public void Bad_synthetic_contrast_options_are_errors_that_name_the_option(string key, double probability, int classes, int brainClasses, double blur, double downsample)
    {
        var options = new TrainingOptions
        {
            Data = "d",
            Loading = new()
            {
                Augmentation = new AugmentationOptions
                {
                    SyntheticContrastProbability = probability, SyntheticContrastClasses = classes, SyntheticContrastBrainClasses = brainClasses,
                    SyntheticContrastMaxBlurSigma = blur, SyntheticContrastMaxDownsampleFactor = downsample,
                },
            },
        };
        Should.Throw<GreenSegException>(() => options.Validate()).Message.ShouldContain(key);
    }

    [Fact]
    public void Synthetic_contrast_options_come_from_the_augmentation_section()
    {
        var options = TrainingOptions.Parse("""
            data: somewhere
            augmentation:
              synthetic-contrast-probability: 0.4
              synthetic-contrast-classes: 8
              synthetic-contrast-max-downsample-factor: 2.5
            """, "test.yaml");

        options.Loading.Augmentation.SyntheticContrastProbability.ShouldBe(0.4);
        options.Loading.Augmentation.SyntheticContrastClasses.ShouldBe(8);
        options.Loading.Augmentation.SyntheticContrastMaxDownsampleFactor.ShouldBe(2.5);
        options.Loading.Augmentation.SyntheticContrastBrainClasses.ShouldBe(new AugmentationOptions().SyntheticContrastBrainClasses);
        TrainingOptions.Parse(options.ToYaml(), "saved").Loading.Augmentation.ShouldBe(options.Loading.Augmentation);
    }

    /// <summary>
    /// A z-scored-like slice: a background gradient with a bright ring (skull and fluid) and a brain
    /// ellipse of two tissues, darker cortex around brighter ventricles; the mask is the ellipse.
    /// </summary>
    internal static (float[] Image, byte[] Mask) Slice()
    {
        byte[] mask = SlicePreprocessorTests.Ellipse(Size, Size, 30, 34, 16, 12);
        byte[] ventricles = SlicePreprocessorTests.Ellipse(Size, Size, 30, 34, 6, 4);
        byte[] head = SlicePreprocessorTests.Ellipse(Size, Size, 30, 34, 22, 18);
        var image = new float[Size * Size];
        for (int i = 0; i < image.Length; i++)
        {
            float wiggle = 0.05f * MathF.Sin(i * 0.7f);
            image[i] = wiggle + (ventricles[i] == 1 ? 1.5f : mask[i] == 1 ? 0.3f : head[i] == 1 ? 2f : -1f + 0.5f * (i % Size) / Size);
        }
        return (image, mask);
    }

    private static double Std(float[] values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
    }
}
