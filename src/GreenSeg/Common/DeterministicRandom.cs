namespace GreenSeg.Common;

/// <summary>
/// A small seeded PRNG (xoshiro256**, state filled by SplitMix64) whose sequence is fixed by this code,
/// not by the runtime: the same seed gives the same numbers on every .NET version and platform, which
/// the phantom and augmentation need for byte-identical outputs. Not thread-safe; use one per thread.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareGaussian;

    public DeterministicRandom(ulong seed)
    {
        ulong state = seed;
        _s0 = SplitMix64(ref state);
        _s1 = SplitMix64(ref state);
        _s2 = SplitMix64(ref state);
        _s3 = SplitMix64(ref state);
    }

    /// <summary>Seeds from several parts (a master seed and indices), so that streams for different parts never share a seed.</summary>
    public static DeterministicRandom Derive(ulong seed, params ReadOnlySpan<ulong> parts) => new(DeriveSeed(seed, parts));

    /// <summary>Mixes a master seed with parts into one seed (order-sensitive).</summary>
    public static ulong DeriveSeed(ulong seed, params ReadOnlySpan<ulong> parts)
    {
        ulong state = seed;
        ulong mixed = SplitMix64(ref state);
        foreach (ulong part in parts)
        {
            state = mixed ^ (part * 0xD1B54A32D192ED03UL);
            mixed = SplitMix64(ref state);
        }
        return mixed;
    }

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max).</summary>
    public double Uniform(double min, double max) => min + (max - min) * NextDouble();

    /// <summary>Uniform integer in [min, maxInclusive].</summary>
    public int NextInt(int min, int maxInclusive)
    {
        if (maxInclusive < min) throw new ArgumentOutOfRangeException(nameof(maxInclusive));
        ulong range = (ulong)((long)maxInclusive - min + 1);
        return (int)(min + (long)(NextUInt64() % range));
    }

    /// <summary>True with the given probability.</summary>
    public bool Chance(double probability) => NextDouble() < probability;

    /// <summary>Standard normal (Box-Muller; the second value of each pair is kept for the next call).</summary>
    public double NextGaussian()
    {
        if (_spareGaussian is double spare)
        {
            _spareGaussian = null;
            return spare;
        }
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        double angle = 2.0 * Math.PI * u2;
        _spareGaussian = radius * Math.Sin(angle);
        return radius * Math.Cos(angle);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
