using System.Buffers.Binary;

namespace GreenSeg.Imaging;

/// <summary>Converts voxel bytes of any supported type and byte order to and from doubles.</summary>
internal static class VoxelCodec
{
    public static void Decode(ReadOnlySpan<byte> bytes, NiftiDataType type, bool little, Span<double> values)
    {
        int size = type.BytesPerVoxel();
        for (int i = 0; i < values.Length; i++)
        {
            var s = bytes.Slice(i * size, size);
            values[i] = type switch
            {
                NiftiDataType.UInt8 => s[0],
                NiftiDataType.Int8 => (sbyte)s[0],
                NiftiDataType.Int16 => little ? BinaryPrimitives.ReadInt16LittleEndian(s) : BinaryPrimitives.ReadInt16BigEndian(s),
                NiftiDataType.UInt16 => little ? BinaryPrimitives.ReadUInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16BigEndian(s),
                NiftiDataType.Int32 => little ? BinaryPrimitives.ReadInt32LittleEndian(s) : BinaryPrimitives.ReadInt32BigEndian(s),
                NiftiDataType.UInt32 => little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s),
                NiftiDataType.Int64 => little ? BinaryPrimitives.ReadInt64LittleEndian(s) : BinaryPrimitives.ReadInt64BigEndian(s),
                NiftiDataType.Float32 => little ? BinaryPrimitives.ReadSingleLittleEndian(s) : BinaryPrimitives.ReadSingleBigEndian(s),
                _ => little ? BinaryPrimitives.ReadDoubleLittleEndian(s) : BinaryPrimitives.ReadDoubleBigEndian(s),
            };
        }
    }

    public static void Encode(ReadOnlySpan<double> values, NiftiDataType type, bool little, Span<byte> bytes)
    {
        int size = type.BytesPerVoxel();
        for (int i = 0; i < values.Length; i++)
        {
            var s = bytes.Slice(i * size, size);
            double v = values[i];
            switch (type)
            {
                case NiftiDataType.UInt8: s[0] = (byte)v; break;
                case NiftiDataType.Int8: s[0] = (byte)(sbyte)v; break;
                case NiftiDataType.Int16: if (little) BinaryPrimitives.WriteInt16LittleEndian(s, (short)v); else BinaryPrimitives.WriteInt16BigEndian(s, (short)v); break;
                case NiftiDataType.UInt16: if (little) BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)v); else BinaryPrimitives.WriteUInt16BigEndian(s, (ushort)v); break;
                case NiftiDataType.Int32: if (little) BinaryPrimitives.WriteInt32LittleEndian(s, (int)v); else BinaryPrimitives.WriteInt32BigEndian(s, (int)v); break;
                case NiftiDataType.UInt32: if (little) BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)v); else BinaryPrimitives.WriteUInt32BigEndian(s, (uint)v); break;
                case NiftiDataType.Int64: if (little) BinaryPrimitives.WriteInt64LittleEndian(s, (long)v); else BinaryPrimitives.WriteInt64BigEndian(s, (long)v); break;
                case NiftiDataType.Float32: if (little) BinaryPrimitives.WriteSingleLittleEndian(s, (float)v); else BinaryPrimitives.WriteSingleBigEndian(s, (float)v); break;
                default: if (little) BinaryPrimitives.WriteDoubleLittleEndian(s, v); else BinaryPrimitives.WriteDoubleBigEndian(s, v); break;
            }
        }
    }

    /// <summary>
    /// Turns physical values into what the type can store: integers are rounded, and a value outside
    /// the type's range is an error rather than a silent wrap.
    /// </summary>
    public static double[] ToStorable(ReadOnlySpan<float> values, NiftiDataType type)
    {
        var (min, max) = type.Range();
        bool integer = type.IsInteger();
        var raw = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = integer ? Math.Round(values[i], MidpointRounding.AwayFromZero) : values[i];
            if (!(v >= min && v <= max))
                throw new ArgumentOutOfRangeException(nameof(values), $"voxel {i} = {values[i]} cannot be stored as {type}");
            raw[i] = v;
        }
        return raw;
    }
}
