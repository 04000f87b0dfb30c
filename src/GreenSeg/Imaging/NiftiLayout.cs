using System.Buffers.Binary;
using System.Text;

namespace GreenSeg.Imaging;

/// <summary>
/// Where each header field lives in NIfTI-1 (348 bytes) and NIfTI-2 (540 bytes), and in which binary
/// type. One table drives reading and writing of both versions, so the two cannot drift apart.
/// </summary>
internal static class NiftiLayout
{
    public const int Size1 = 348;
    public const int Size2 = 540;
    public const int ExtensionFlagSize = 4;
    public static readonly byte[] MagicSingleFile1 = "n+1\0"u8.ToArray();
    public static readonly byte[] MagicPairedFile1 = "ni1\0"u8.ToArray();
    public static readonly byte[] MagicSingleFile2 = [(byte)'n', (byte)'+', (byte)'2', 0, 0x0D, 0x0A, 0x1A, 0x0A];
    public static readonly byte[] MagicPairedFile2 = [(byte)'n', (byte)'i', (byte)'2', 0, 0x0D, 0x0A, 0x1A, 0x0A];
    public const int MagicOffset1 = 344;
    public const int MagicOffset2 = 4;

    public enum Kind { U8, I16, I32, I64, F32, F64 }

    public sealed record Field(string Name, int Offset1, Kind Kind1, int Offset2, Kind Kind2,
        Func<NiftiHeader, double> Get, Action<NiftiHeader, double> Set);

    public sealed record TextField(string Name, int Offset1, int Offset2, int Length,
        Func<NiftiHeader, string> Get, Action<NiftiHeader, string> Set);

    public static readonly IReadOnlyList<Field> Fields = BuildFields();

    public static readonly IReadOnlyList<TextField> TextFields =
    [
        new("descrip", 148, 240, 80, h => h.Description, (h, v) => h.Description = v),
        new("aux_file", 228, 320, 24, h => h.AuxFile, (h, v) => h.AuxFile = v),
        new("intent_name", 328, 508, 16, h => h.IntentName, (h, v) => h.IntentName = v),
    ];

    private static List<Field> BuildFields()
    {
        var fields = new List<Field>
        {
            new("datatype", 70, Kind.I16, 12, Kind.I16, h => (short)h.DataType, (h, v) => h.DataType = (NiftiDataType)(short)v),
            new("bitpix", 72, Kind.I16, 14, Kind.I16, h => h.BitPix, (h, v) => h.BitPix = (short)v),
            new("intent_p1", 56, Kind.F32, 80, Kind.F64, h => h.IntentP1, (h, v) => h.IntentP1 = v),
            new("intent_p2", 60, Kind.F32, 88, Kind.F64, h => h.IntentP2, (h, v) => h.IntentP2 = v),
            new("intent_p3", 64, Kind.F32, 96, Kind.F64, h => h.IntentP3, (h, v) => h.IntentP3 = v),
            new("intent_code", 68, Kind.I16, 504, Kind.I32, h => h.IntentCode, (h, v) => h.IntentCode = (int)v),
            new("slice_start", 74, Kind.I16, 224, Kind.I64, h => h.SliceStart, (h, v) => h.SliceStart = (long)v),
            new("vox_offset", 108, Kind.F32, 168, Kind.I64, h => h.VoxOffset, (h, v) => h.VoxOffset = (long)v),
            new("scl_slope", 112, Kind.F32, 176, Kind.F64, h => h.SclSlope, (h, v) => h.SclSlope = v),
            new("scl_inter", 116, Kind.F32, 184, Kind.F64, h => h.SclInter, (h, v) => h.SclInter = v),
            new("slice_end", 120, Kind.I16, 232, Kind.I64, h => h.SliceEnd, (h, v) => h.SliceEnd = (long)v),
            new("slice_code", 122, Kind.U8, 496, Kind.I32, h => h.SliceCode, (h, v) => h.SliceCode = (int)v),
            new("xyzt_units", 123, Kind.U8, 500, Kind.I32, h => h.XyztUnits, (h, v) => h.XyztUnits = (int)v),
            new("cal_max", 124, Kind.F32, 192, Kind.F64, h => h.CalMax, (h, v) => h.CalMax = v),
            new("cal_min", 128, Kind.F32, 200, Kind.F64, h => h.CalMin, (h, v) => h.CalMin = v),
            new("slice_duration", 132, Kind.F32, 208, Kind.F64, h => h.SliceDuration, (h, v) => h.SliceDuration = v),
            new("toffset", 136, Kind.F32, 216, Kind.F64, h => h.TOffset, (h, v) => h.TOffset = v),
            new("dim_info", 39, Kind.U8, 524, Kind.U8, h => h.DimInfo, (h, v) => h.DimInfo = (byte)v),
            new("qform_code", 252, Kind.I16, 344, Kind.I32, h => h.QFormCode, (h, v) => h.QFormCode = (int)v),
            new("sform_code", 254, Kind.I16, 348, Kind.I32, h => h.SFormCode, (h, v) => h.SFormCode = (int)v),
            new("quatern_b", 256, Kind.F32, 352, Kind.F64, h => h.QuaternB, (h, v) => h.QuaternB = v),
            new("quatern_c", 260, Kind.F32, 360, Kind.F64, h => h.QuaternC, (h, v) => h.QuaternC = v),
            new("quatern_d", 264, Kind.F32, 368, Kind.F64, h => h.QuaternD, (h, v) => h.QuaternD = v),
            new("qoffset_x", 268, Kind.F32, 376, Kind.F64, h => h.QOffsetX, (h, v) => h.QOffsetX = v),
            new("qoffset_y", 272, Kind.F32, 384, Kind.F64, h => h.QOffsetY, (h, v) => h.QOffsetY = v),
            new("qoffset_z", 276, Kind.F32, 392, Kind.F64, h => h.QOffsetZ, (h, v) => h.QOffsetZ = v),
        };
        for (int i = 0; i < 8; i++)
        {
            int k = i;
            fields.Add(new($"dim[{k}]", 40 + 2 * k, Kind.I16, 16 + 8 * k, Kind.I64, h => h.Dim[k], (h, v) => h.Dim[k] = (long)v));
            fields.Add(new($"pixdim[{k}]", 76 + 4 * k, Kind.F32, 104 + 8 * k, Kind.F64, h => h.PixDim[k], (h, v) => h.PixDim[k] = v));
        }
        for (int i = 0; i < 4; i++)
        {
            int k = i;
            fields.Add(new($"srow_x[{k}]", 280 + 4 * k, Kind.F32, 400 + 8 * k, Kind.F64, h => h.SRowX[k], (h, v) => h.SRowX[k] = v));
            fields.Add(new($"srow_y[{k}]", 296 + 4 * k, Kind.F32, 432 + 8 * k, Kind.F64, h => h.SRowY[k], (h, v) => h.SRowY[k] = v));
            fields.Add(new($"srow_z[{k}]", 312 + 4 * k, Kind.F32, 464 + 8 * k, Kind.F64, h => h.SRowZ[k], (h, v) => h.SRowZ[k] = v));
        }
        return fields;
    }

    public static double ReadValue(ReadOnlySpan<byte> bytes, int offset, Kind kind, bool little)
    {
        var s = bytes[offset..];
        return kind switch
        {
            Kind.U8 => s[0],
            Kind.I16 => little ? BinaryPrimitives.ReadInt16LittleEndian(s) : BinaryPrimitives.ReadInt16BigEndian(s),
            Kind.I32 => little ? BinaryPrimitives.ReadInt32LittleEndian(s) : BinaryPrimitives.ReadInt32BigEndian(s),
            Kind.I64 => little ? BinaryPrimitives.ReadInt64LittleEndian(s) : BinaryPrimitives.ReadInt64BigEndian(s),
            Kind.F32 => little ? BinaryPrimitives.ReadSingleLittleEndian(s) : BinaryPrimitives.ReadSingleBigEndian(s),
            _ => little ? BinaryPrimitives.ReadDoubleLittleEndian(s) : BinaryPrimitives.ReadDoubleBigEndian(s),
        };
    }

    public static void WriteValue(Span<byte> bytes, int offset, Kind kind, bool little, double value)
    {
        var s = bytes[offset..];
        switch (kind)
        {
            case Kind.U8: s[0] = checked((byte)value); break;
            case Kind.I16: if (little) BinaryPrimitives.WriteInt16LittleEndian(s, checked((short)value)); else BinaryPrimitives.WriteInt16BigEndian(s, checked((short)value)); break;
            case Kind.I32: if (little) BinaryPrimitives.WriteInt32LittleEndian(s, checked((int)value)); else BinaryPrimitives.WriteInt32BigEndian(s, checked((int)value)); break;
            case Kind.I64: if (little) BinaryPrimitives.WriteInt64LittleEndian(s, checked((long)value)); else BinaryPrimitives.WriteInt64BigEndian(s, checked((long)value)); break;
            case Kind.F32: if (little) BinaryPrimitives.WriteSingleLittleEndian(s, (float)value); else BinaryPrimitives.WriteSingleBigEndian(s, (float)value); break;
            default: if (little) BinaryPrimitives.WriteDoubleLittleEndian(s, value); else BinaryPrimitives.WriteDoubleBigEndian(s, value); break;
        }
    }

    public static string ReadText(ReadOnlySpan<byte> bytes, int offset, int length)
    {
        var s = bytes.Slice(offset, length);
        int end = s.IndexOf((byte)0);
        return Encoding.Latin1.GetString(end < 0 ? s : s[..end]);
    }

    public static void WriteText(Span<byte> bytes, int offset, int length, string text)
    {
        var target = bytes.Slice(offset, length);
        target.Clear();
        // Leave room for the terminating NUL that C readers expect.
        byte[] encoded = Encoding.Latin1.GetBytes(text);
        encoded.AsSpan(0, Math.Min(encoded.Length, length - 1)).CopyTo(target);
    }
}
