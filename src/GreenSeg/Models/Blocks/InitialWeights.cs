using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// Where convolutions draw their initial weights: torch's global generator, or a private seeded
/// generator while <see cref="ModelRegistry.Create"/> builds a model with <see cref="ModelOptions.Seed"/>
/// (reproducible whatever other threads draw from the global one).
/// </summary>
internal static class InitialWeights
{
    [ThreadStatic] private static Generator? seeded;

    /// <summary>Fills with U(-bound, bound). (TorchSharp 0.107's nn.init.uniform_ ignores its generator; Tensor.uniform_ honours it.)</summary>
    public static void Uniform(Tensor tensor, double bound) => tensor.uniform_(-bound, bound, seeded);

    /// <summary>Draws from a generator seeded with <paramref name="seed"/> on this thread until disposed.</summary>
    public static IDisposable Seeded(long seed) => new Scope(new Generator(unchecked((ulong)seed), CPU));

    private sealed class Scope : IDisposable
    {
        private readonly Generator? previous = seeded;
        private readonly Generator generator;

        public Scope(Generator generator)
        {
            this.generator = generator;
            seeded = generator;
        }

        public void Dispose()
        {
            seeded = previous;
            generator.Dispose();
        }
    }
}
