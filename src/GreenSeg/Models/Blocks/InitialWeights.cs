using GreenSeg.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// Where convolutions draw their initial weights: torch's global generator, or a private seeded stream
/// while <see cref="ModelRegistry.Create"/> builds a model with <see cref="ModelOptions.Seed"/>
/// (reproducible whatever other threads draw from the global one).
/// </summary>
/// <remarks>
/// The seeded stream is GreenSeg's own generator, its values copied into the tensor. A private
/// torch.Generator passed to Tensor.uniform_ left models whose backward passes differed from call to call
/// and turned NaN after a few steps on the project's machines (TorchSharp 0.107, libtorch 2.10), while
/// the same models initialised from the global generator were exact.
/// </remarks>
internal static class InitialWeights
{
    [ThreadStatic] private static DeterministicRandom? seeded;

    /// <summary>Fills with U(-bound, bound).</summary>
    public static void Uniform(Tensor tensor, double bound)
    {
        if (seeded is not { } random)
        {
            tensor.uniform_(-bound, bound);
            return;
        }
        var values = new float[tensor.numel()];
        for (int i = 0; i < values.Length; i++) values[i] = (float)random.Uniform(-bound, bound);
        using var source = torch.tensor(values, tensor.shape);
        tensor.copy_(source);
    }

    /// <summary>Draws from a stream seeded with <paramref name="seed"/> on this thread until disposed.</summary>
    public static IDisposable Seeded(long seed) => new Scope(new DeterministicRandom(unchecked((ulong)seed)));

    private sealed class Scope : IDisposable
    {
        private readonly DeterministicRandom? previous = seeded;

        public Scope(DeterministicRandom random) => seeded = random;

        public void Dispose() => seeded = previous;
    }
}
