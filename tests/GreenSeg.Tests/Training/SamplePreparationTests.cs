using System.Runtime.InteropServices;
using System.Security.Cryptography;
using GreenSeg.Data;
using GreenSeg.Tests.Transforms;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Training;

public class SamplePreparationTests
{
    private const int Size = 32;

    /// <summary>Every augmentation that existed before synthetic contrast, always on.</summary>
    private static readonly AugmentationOptions EveryEarlierAugmentation = new()
    {
        FlipXProbability = 1, FlipYProbability = 1, RotationProbability = 1, ScaleProbability = 1, ShiftProbability = 1,
        GammaProbability = 1, NoiseProbability = 1, BiasFieldProbability = 1, IntensityCurveProbability = 1,
    };

    [Fact]
    public void Without_synthetic_contrast_the_augmented_batches_are_bit_identical_to_before_it_existed()
    {
        var preparation = SamplePreparation.Create(new TrainingOptions { Preprocessing = new() { Size = Size }, Loading = new() { Augmentation = EveryEarlierAugmentation } });
        var images = new float[4 * Size * Size];
        var masks = new float[4 * Size * Size];
        PreparedSample sample = Sample();
        for (int i = 0; i < 4; i++)
            preparation.Writer(sample, new Random(1234 + i), images.AsSpan(i * Size * Size, Size * Size), masks.AsSpan(i * Size * Size, Size * Size));

        // SHA-256 of the batch as the writer produced it before synthetic contrast was added (this platform's float maths).
        Hash(images).ShouldBe("99e541fc3ece667d657fb1a50431547b201ebbaee7c741e1c922b5c94bb03d8c");
        Hash(masks).ShouldBe("e38278c78bea2441ed838ad8346d0dacc704563cdf22b60891aca2daac78b60e");
    }

    [Fact]
    public void Only_synthetic_contrast_makes_prepared_samples_carry_intensity_classes_and_changes_the_cache_fingerprint()
    {
        (float[] image, byte[] mask) = SyntheticContrastTests.Slice();
        var raw = new RawSlice(image, mask, 64, 64, 1, 1);
        var plain = SamplePreparation.Create(new TrainingOptions { Preprocessing = new() { Size = 64, Spacing = 1 } });
        var withSynthetic = new TrainingOptions
        {
            Preprocessing = new() { Size = 64, Spacing = 1 },
            Loading = new() { Augmentation = new AugmentationOptions { SyntheticContrastProbability = 0.5 } },
        };
        var synthetic = SamplePreparation.Create(withSynthetic);
        var notAugmented = SamplePreparation.Create(withSynthetic.WithLoading(l => l with { Augment = false }));

        plain.Prepare(raw).Classes.ShouldBeNull();
        plain.Fingerprint.ShouldBe(new PreprocessingOptions { TargetWidth = 64, TargetHeight = 64, Normalization = IntensityNormalization.Percentile }.Fingerprint());
        notAugmented.Prepare(raw).Classes.ShouldBeNull();
        notAugmented.Fingerprint.ShouldBe(plain.Fingerprint);
        PreparedSample prepared = synthetic.Prepare(raw);
        prepared.Classes.ShouldBe(IntensityClasses.Compute(prepared.Image, prepared.Mask, 6, 2));
        synthetic.Fingerprint.ShouldNotBe(plain.Fingerprint);
    }

    [Fact]
    public void The_writer_renders_a_synthetic_contrast_from_the_classes_and_keeps_the_mask()
    {
        (float[] image, byte[] mask) = SyntheticContrastTests.Slice();
        // Under z-score normalisation a rendering is normalised again to mean 0.
        var preparation = SamplePreparation.Create(new TrainingOptions
        {
            Preprocessing = new() { Size = 64, Normalization = IntensityNormalization.ZScoreNonzero },
            Loading = new() { Augmentation = AugmentationOptions.None with { SyntheticContrastProbability = 1 } },
        });
        PreparedSample prepared = preparation.Prepare(new RawSlice(image, mask, 64, 64, 1, 1));
        var imageOut = new float[64 * 64];
        var maskOut = new float[64 * 64];

        preparation.Writer(prepared, new Random(5), imageOut, maskOut);

        maskOut.ShouldBe(prepared.Mask.Select(b => (float)b).ToArray());
        imageOut.SequenceEqual(prepared.Image).ShouldBeFalse();
        imageOut.Average().ShouldBe(0, 1e-4);
    }

    private static PreparedSample Sample()
    {
        var image = new float[Size * Size];
        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
            image[x + Size * y] = MathF.Sin(x * 0.3f) + 0.5f * MathF.Cos(y * 0.17f) + 0.01f * x * y / Size;
        return new PreparedSample(image, SlicePreprocessorTests.Ellipse(Size, Size, 15, 17, 8, 6), Size);
    }

    private static string Hash(float[] values) => Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));
}
