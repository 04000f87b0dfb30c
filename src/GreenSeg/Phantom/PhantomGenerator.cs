using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Phantom;

/// <summary>
/// Makes synthetic fetal-MRI stacks with exact brain masks. Each stack is drawn from its own random
/// stream (master seed, sequence, volume number), so a stack does not depend on which other stacks are
/// made, and slices render in parallel without changing a single value.
/// </summary>
public sealed class PhantomGenerator
{
    public PhantomOptions Options { get; }

    public PhantomGenerator(PhantomOptions options)
    {
        options.Validate();
        Options = options;
    }

    /// <summary>Every stack to make: per sequence, the training volumes first, then the test volumes.</summary>
    public IReadOnlyList<PhantomStackSpec> Plan()
    {
        var plan = new List<PhantomStackSpec>();
        foreach (PhantomSequence sequence in Enum.GetValues<PhantomSequence>())
        {
            int train = Options.TrainStacks.For(sequence), test = Options.TestStacks.For(sequence);
            for (int v = 0; v < train + test; v++) plan.Add(new PhantomStackSpec(sequence, v, IsTest: v >= train));
        }
        return plan;
    }

    public PhantomStack Generate(PhantomStackSpec spec)
    {
        SequenceProfile profile = SequenceProfile.For(spec.Sequence);
        DeterministicRandom random = DeterministicRandom.Derive(unchecked((ulong)Options.Seed), (ulong)spec.Sequence, (ulong)spec.Volume);
        var scene = new FetalScene(random, profile);
        float scale = (float)random.Uniform(profile.MinScale, profile.MaxScale);
        ulong noiseSeed = random.NextUInt64();

        int width = profile.Width, height = profile.Height, depth = scene.Slices, sliceLength = width * height;
        var image = new float[sliceLength * depth];
        var mask = new byte[sliceLength * depth];
        Parallel.For(0, depth, z =>
        {
            Span<float> signal = image.AsSpan(z * sliceLength, sliceLength);
            Span<byte> brain = mask.AsSpan(z * sliceLength, sliceLength);
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var p = scene.VoxelCenter(x, y, z);
                int i = x + width * y;
                signal[i] = scene.Evaluate(p, out bool inBrain) * scene.Bias(p);
                brain[i] = inBrain ? (byte)1 : (byte)0;
            }
            if (profile.BlurSigmaPixels > 0f) GaussianBlur.Apply(signal, width, height, profile.BlurSigmaPixels);
            AddRicianNoiseAndQuantise(signal, profile, scale, DeterministicRandom.Derive(noiseSeed, (ulong)z));
        });

        return new PhantomStack
        {
            Spec = spec, Width = width, Height = height, Depth = depth,
            SpacingX = scene.Spacing, SpacingY = scene.Spacing, SpacingZ = scene.Thickness,
            Image = image, Mask = mask, ImageType = profile.StoredType,
        };
    }

    /// <summary>
    /// Magnitude images carry Rician noise: the modulus of the signal plus complex Gaussian noise.
    /// Values are then scaled to the scanner range and rounded, as integer-typed files store them.
    /// </summary>
    private static void AddRicianNoiseAndQuantise(Span<float> signal, SequenceProfile profile, float scale, DeterministicRandom random)
    {
        float sigma = profile.NoiseSigma;
        float maxStored = (float)profile.StoredType.Range().Max;
        for (int i = 0; i < signal.Length; i++)
        {
            float real = signal[i] + sigma * (float)random.NextGaussian();
            float imaginary = sigma * (float)random.NextGaussian();
            float magnitude = MathF.Sqrt(real * real + imaginary * imaginary);
            signal[i] = MathF.Min(MathF.Round(magnitude * scale), maxStored);
        }
    }
}
