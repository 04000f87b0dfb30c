using GreenSeg.Benchmarks;
using GreenSeg.Distributed;
using GreenSeg.Training;

namespace GreenSeg.Tests.Distributed;

/// <summary>The gradient codecs (no MPI needed): their error bounds, non-finite values kept, and the benchmark's projection.</summary>
public sealed class GradientCodecTests
{
    private static float[] Values(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-4, 2))))];
    }

    private static float[] RoundTrip(GradientCodec codec, float[] values)
    {
        var encoded = new byte[codec.EncodedBytes(values.Length)];
        codec.Encode(values, encoded);
        var decoded = new float[values.Length];
        codec.DecodeAdd(encoded, decoded);
        return decoded;
    }

    [Fact]
    public void Bf16KeepsEightBitsOfMantissaInHalfTheBytes()
    {
        var values = Values(1000, 1);
        Bf16Codec.Instance.EncodedBytes(values.Length).ShouldBe(2 * values.Length);
        var decoded = RoundTrip(Bf16Codec.Instance, values);
        for (int i = 0; i < values.Length; i++)
            ((double)Math.Abs(decoded[i] - values[i])).ShouldBeLessThanOrEqualTo(Math.Abs(values[i]) / 256.0, $"value {i}");
        Bf16Codec.FromBf16(Bf16Codec.ToBf16(1f + 1f / 256)).ShouldBe(1f, "a tie rounds to the even neighbour");
        Bf16Codec.FromBf16(Bf16Codec.ToBf16(1f + 3f / 256)).ShouldBe(1f + 4f / 256);
    }

    [Fact]
    public void Int8ErrsAtMostHalfAStepOfTheChunksScaleInAQuarterOfTheBytes()
    {
        var values = Values(1000, 2);
        Int8Codec.Instance.EncodedBytes(values.Length).ShouldBe(values.Length + 4);
        var decoded = RoundTrip(Int8Codec.Instance, values);
        float step = values.Max(MathF.Abs) / 127;
        for (int i = 0; i < values.Length; i++) ((double)Math.Abs(decoded[i] - values[i])).ShouldBeLessThanOrEqualTo(step / 2 * 1.0001, $"value {i}");
        RoundTrip(Int8Codec.Instance, new float[8]).ShouldAllBe(v => v == 0f, "an all-zero chunk stays zero");
    }

    [Theory]
    [InlineData(GradCompression.Bf16)]
    [InlineData(GradCompression.Int8)]
    public void ANonFiniteGradientStaysNonFiniteSoTheStepIsRedone(GradCompression compression)
    {
        var codec = GradientCodec.For(compression)!;
        float[] values = [1f, float.NaN, -2f];
        float.IsFinite(RoundTrip(codec, values)[1]).ShouldBeFalse();
        float[] infinite = [1f, float.PositiveInfinity, -2f];
        RoundTrip(codec, infinite).Any(v => !float.IsFinite(v)).ShouldBeTrue();
    }

    [Fact]
    public void NoCompressionHasNoCodec() => GradientCodec.For(GradCompression.None).ShouldBeNull();

    [Fact]
    public void TheProjectionKeepsComputeAndGrowsTheRingExchangeWithRanks()
    {
        var measured = new DistributedMeasurement("unet", 1_000_000, 2,
            [
                new StepTiming("fp32 gradients", 2, 1, 8, SecondsPerStep: 1.1, CommunicationSecondsPerStep: 0.1, MegabytesSentPerStep: 4),
                new StepTiming("int8 gradients", 2, 1, 8, SecondsPerStep: 1.2, CommunicationSecondsPerStep: 0.2, MegabytesSentPerStep: 1, CodecSecondsPerStep: 0.05),
            ],
            [new AllreduceTiming(4 << 20, 2, (4 << 20) / 4e9)], LatencySeconds: 0);
        var projected = DistributedBenchmark.Project(measured, [2, 64], bandwidthBytesPerSecond: 1e9, latencySeconds: 1e-5);
        projected[0].ComputeSeconds.ShouldBe(1.0, 1e-9, "the fp32 step without its collectives");
        projected[0].GlobalBatch.ShouldBe(8);
        projected[1].GlobalBatch.ShouldBe(256);
        // At 2 ranks each sends the whole 4 MB payload (2(R-1)/R = 1); at 64 ranks 126/64 of it.
        projected[0].Steps[0].Seconds.ShouldBe(1.0 + 4e6 / 1e9 + 2 * 1e-5, 1e-9);
        projected[1].Steps[0].Seconds.ShouldBe(1.0 + 2.0 * 63 / 64 * 4e6 / 1e9 + 2 * 63 * 1e-5, 1e-9);
        projected[1].Steps[1].Seconds.ShouldBe(1.0 + 0.05 + 2.0 * 63 / 64 * 1e6 / 1e9 + 2 * 63 * 1e-5, 1e-9, "compute, codec and a quarter of the bytes");
    }
}
