using System.Buffers.Binary;
using GreenSeg.Training;

namespace GreenSeg.Distributed;

/// <summary>
/// How a block of fp32 gradient values travels compressed: bfloat16 (2 bytes a value, rounded to nearest even) or int8
/// (1 byte a value and one fp32 scale per block: value ≈ q · max|x| / 127). Non-finite input stays non-finite after
/// decoding, so the engine's check of the averaged gradients still sees it.
/// </summary>
public abstract class GradientCodec
{
    public abstract int EncodedBytes(int values);

    public abstract void Encode(ReadOnlySpan<float> values, Span<byte> encoded);

    /// <summary>Adds the decoded values to <paramref name="sum"/>.</summary>
    public abstract void DecodeAdd(ReadOnlySpan<byte> encoded, Span<float> sum);

    public static GradientCodec? For(GradCompression compression) => compression switch
    {
        GradCompression.Bf16 => Bf16Codec.Instance,
        GradCompression.Int8 => Int8Codec.Instance,
        _ => null,
    };
}

public sealed class Bf16Codec : GradientCodec
{
    public static Bf16Codec Instance { get; } = new();

    public override int EncodedBytes(int values) => 2 * values;

    public override void Encode(ReadOnlySpan<float> values, Span<byte> encoded)
    {
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(encoded[(2 * i)..], ToBf16(values[i]));
    }

    public override void DecodeAdd(ReadOnlySpan<byte> encoded, Span<float> sum)
    {
        for (int i = 0; i < sum.Length; i++)
            sum[i] += FromBf16(BinaryPrimitives.ReadUInt16LittleEndian(encoded[(2 * i)..]));
    }

    /// <summary>The upper 16 bits of the fp32 pattern, rounded to nearest even; a NaN stays a (quiet) NaN.</summary>
    public static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }

    public static float FromBf16(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);
}

public sealed class Int8Codec : GradientCodec
{
    public static Int8Codec Instance { get; } = new();

    public override int EncodedBytes(int values) => sizeof(float) + values;

    public override void Encode(ReadOnlySpan<float> values, Span<byte> encoded)
    {
        float largest = 0;
        bool finite = true;
        foreach (float v in values)
        {
            largest = MathF.Max(largest, MathF.Abs(v));
            finite &= float.IsFinite(v);
        }
        float scale = finite ? largest / 127f : float.NaN;
        BinaryPrimitives.WriteSingleLittleEndian(encoded, scale);
        float inverse = scale > 0 ? 1f / scale : 0f;
        for (int i = 0; i < values.Length; i++)
            encoded[sizeof(float) + i] = (byte)(sbyte)Math.Clamp(MathF.Round(values[i] * inverse), -127f, 127f);
    }

    public override void DecodeAdd(ReadOnlySpan<byte> encoded, Span<float> sum)
    {
        float scale = BinaryPrimitives.ReadSingleLittleEndian(encoded);
        for (int i = 0; i < sum.Length; i++) sum[i] += (sbyte)encoded[sizeof(float) + i] * scale;
    }
}
