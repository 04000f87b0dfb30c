using GreenSeg.Data;
using GreenSeg.Transforms;

namespace GreenSeg.Training;

/// <summary>
/// The training side of the data pipeline: the deterministic preparation of a slice (what the caches
/// store; identified by a fingerprint), and the writer that augments a prepared slice into a batch.
/// </summary>
public sealed class SamplePreparation
{
    public required Func<RawSlice, PreparedSample> Prepare { get; init; }
    public required string Fingerprint { get; init; }
    public required SampleWriter Writer { get; init; }

    public static SamplePreparation Create(TrainingOptions options)
    {
        var preprocessor = new SlicePreprocessor(options.Preprocessing.ToPreprocessingOptions());
        int size = options.Preprocessing.Size;
        AugmentationOptions augmentation = options.Loading.Augmentation;
        // Intensity classes are prepared (and cached) once per slice, and only when they will be rendered.
        bool classify = options.Loading.Augment && augmentation.SyntheticContrastProbability > 0;
        return new SamplePreparation
        {
            Prepare = raw =>
            {
                if (options.Preprocessing.CanonicalOrientation) raw = raw.InCanonicalOrientation();
                var prepared = preprocessor.Forward(raw.Image, raw.Mask, raw.Width, raw.Height, raw.SpacingX, raw.SpacingY);
                byte[]? classes = classify
                    ? IntensityClasses.Compute(prepared.Image, prepared.Mask, augmentation.SyntheticContrastClasses, augmentation.SyntheticContrastBrainClasses, prepared.Record.FieldOfView())
                    : null;
                return new PreparedSample(prepared.Image, prepared.Mask!, size, classes);
            },
            Fingerprint = preprocessor.Options.Fingerprint()
                + (classify ? IntensityClasses.Fingerprint(augmentation.SyntheticContrastClasses, augmentation.SyntheticContrastBrainClasses) : ""),
            Writer = options.Loading.Augment ? AugmentingWriter(new Augmenter(options.Loading.Augmentation, options.Preprocessing.Normalization), size) : BatchLoader.CopyWriter,
        };
    }

    private static SampleWriter AugmentingWriter(Augmenter augmenter, int size) => (sample, random, image, mask) =>
    {
        var maskBytes = new byte[mask.Length];
        augmenter.Augment(sample.Image, sample.Mask, size, size, (ulong)random.NextInt64(), image, maskBytes, sample.Classes);
        for (int i = 0; i < mask.Length; i++) mask[i] = maskBytes[i];
    };
}
