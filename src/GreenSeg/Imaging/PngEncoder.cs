using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace GreenSeg.Imaging;

/// <summary>
/// Writes 8-bit RGB pixels as a PNG (no image library needed), with a tEXt "Software" chunk naming GreenSeg,
/// so a later run can tell its own pictures from files it must not overwrite (<see cref="IsGreenSegPng"/>).
/// </summary>
public static class PngEncoder
{
    public const string Software = "GreenSeg";
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly byte[] SoftwareText = Encoding.Latin1.GetBytes("Software\0" + Software);

    /// <summary>Encodes rows of width·3 bytes (R, G, B), top row first.</summary>
    public static void WriteRgb(Stream stream, ReadOnlySpan<byte> rgb, int width, int height)
    {
        if (width < 1 || height < 1 || rgb.Length != checked(width * height * 3))
            throw new ArgumentException($"need {width}x{height}x3 bytes, got {rgb.Length}", nameof(rgb));
        stream.Write(Signature);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type RGB
        WriteChunk(stream, "IHDR", header);
        WriteChunk(stream, "tEXt", SoftwareText);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0); // filter: none
                zlib.Write(rgb.Slice(y * width * 3, width * 3));
            }
        }
        WriteChunk(stream, "IDAT", compressed.ToArray());
        WriteChunk(stream, "IEND", []);
    }

    public static byte[] EncodeRgb(ReadOnlySpan<byte> rgb, int width, int height)
    {
        using var buffer = new MemoryStream();
        WriteRgb(buffer, rgb, width, height);
        return buffer.ToArray();
    }

    /// <summary>True when the file is a PNG whose first text chunk after the header names GreenSeg as its software.</summary>
    public static bool IsGreenSegPng(string path)
    {
        Span<byte> start = stackalloc byte[8 + 25 + 8 + SoftwareText.Length]; // signature, IHDR chunk, tEXt length and type, its text
        using var file = File.OpenRead(path);
        if (file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) < start.Length) return false;
        return start[..8].SequenceEqual(Signature)
            && start.Slice(8 + 25 + 4, 4).SequenceEqual("tEXt"u8)
            && start[(8 + 25 + 8)..].SequenceEqual(SoftwareText);
    }

    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        var crc = new Crc32();
        crc.Append(typeBytes);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        stream.Write(word);
    }
}
