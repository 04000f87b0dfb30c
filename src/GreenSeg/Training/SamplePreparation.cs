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
        var preprocessor = new SlicePreprocessor(options.Preprocessing());
        int size = options.Size;
        return new SamplePreparation
        {
            Prepare = raw =>
            {
                if (options.CanonicalOrientation) raw = raw.InCanonicalOrientation();
                var prepared = preprocessor.Forward(raw.Image, raw.Mask, raw.Width, raw.Height, raw.SpacingX, raw.SpacingY);
                return new PreparedSample(prepared.Image, prepared.Mask!, size);
            },
            Fingerprint = preprocessor.Options.Fingerprint(),
            Writer = options.Augment ? AugmentingWriter(new Augmenter(options.Augmentation), size) : BatchLoader.CopyWriter,
        };
    }

    private static SampleWriter AugmentingWriter(Augmenter augmenter, int size) => (sample, random, image, mask) =>
    {
        var maskBytes = new byte[mask.Length];
        augmenter.Augment(sample.Image, sample.Mask, size, size, (ulong)random.NextInt64(), image, maskBytes);
        for (int i = 0; i < mask.Length; i++) mask[i] = maskBytes[i];
    };
}
