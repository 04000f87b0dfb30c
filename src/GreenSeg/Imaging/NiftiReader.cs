using System.IO.Compression;
using GreenSeg.Common;

namespace GreenSeg.Imaging;

/// <summary>
/// Reads NIfTI-1 and NIfTI-2 single files (.nii, .nii.gz), either byte order. Hostile input is refused
/// with an <see cref="InvalidInputException"/> naming the file: nothing is allocated before the header
/// has shown that the file can hold the data it promises.
/// </summary>
internal static class NiftiReader
{
    /// <summary>
    /// The largest image read, in voxels: 2^25 (e.g. 512 x 512 x 128), several times any fetal stack, so a
    /// hostile header cannot make a reader allocate gigabytes (every voxel is held as a double, and more as
    /// floats downstream). GREENSEG_MAX_VOXELS raises or lowers it.
    /// </summary>
    public static long MaxVoxels { get; } = Environment.GetEnvironmentVariable("GREENSEG_MAX_VOXELS") is { } text
        && long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long limit) && limit > 0
        ? Math.Min(limit, 1L << 28) : 1L << 25;
    /// <summary>Most slices (and most voxels along an in-plane axis): work per slice is bounded too, not only memory.</summary>
    public const long MaxAxisLength = 8192;
    /// <summary>Deflate cannot expand data by more than about 1032:1.</summary>
    private const long MaxDeflateRatio = 1100;
    private const long MaxExtensionBytes = 64L << 20;

    public static NiftiImage Read(string path) => Guarded(path, () => ReadCore(path, headerOnly: false));

    /// <summary>The validated header and sizes, without decoding voxels (the file is still checked to hold them).</summary>
    public static NiftiImage ReadHeader(string path) => Guarded(path, () => ReadCore(path, headerOnly: true));

    private static NiftiImage Guarded(string path, Func<NiftiImage> read)
    {
        try
        {
            return read();
        }
        catch (InvalidInputException) { throw; }
        catch (EndOfStreamException) { throw new InvalidInputException(path, "file is truncated (it ends before the header or voxel data is complete)"); }
        catch (InvalidDataException e) { throw new InvalidInputException(path, $"corrupt gzip data ({e.Message})", e); }
        catch (FileNotFoundException) { throw new InvalidInputException(path, "file not found"); }
        catch (DirectoryNotFoundException) { throw new InvalidInputException(path, "folder not found"); }
        catch (UnauthorizedAccessException e) { throw new InvalidInputException(path, $"cannot be read ({e.Message})", e); }
        catch (IOException e) { throw new InvalidInputException(path, $"read error ({e.Message})", e); }
    }

    private static NiftiImage ReadCore(string path, bool headerOnly)
    {
        if (Directory.Exists(path)) throw new InvalidInputException(path, "is a folder, not a NIfTI file");
        RegularFile.Require(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long fileLength = file.Length;
        if (fileLength < 4) throw new InvalidInputException(path, $"file is too short to be NIfTI ({fileLength} bytes)");
        bool gzipped = IsGzip(file);
        using Stream stream = gzipped ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16) : file;

        var sizeField = new byte[4];
        stream.ReadExactly(sizeField);
        var (version, little) = DetectVersion(path, sizeField, gzipped);
        int headerSize = version == 1 ? NiftiLayout.Size1 : NiftiLayout.Size2;
        var headerBytes = new byte[headerSize];
        sizeField.CopyTo(headerBytes, 0);
        stream.ReadExactly(headerBytes, 4, headerSize - 4);

        var header = ParseHeader(path, headerBytes, version, little);
        var (sizeX, sizeY, sizeZ) = ValidateDimensions(path, header);
        long voxels = sizeX * sizeY * sizeZ;
        long dataBytes = voxels * header.DataType.BytesPerVoxel();

        // A single-file NIfTI keeps 4 bytes of extension flag after the header: voxels start at 352 (NIfTI-2: 544) or later.
        if (header.VoxOffset < headerSize + NiftiLayout.ExtensionFlagSize)
            throw new InvalidInputException(path, $"vox_offset {header.VoxOffset} points inside the {headerSize}-byte header or its 4-byte extension flag (at least {headerSize + NiftiLayout.ExtensionFlagSize})");
        long needed = header.VoxOffset + dataBytes;
        if (!gzipped && needed > fileLength)
            throw new InvalidInputException(path, $"file is truncated: the header promises {dataBytes} bytes of voxel data at offset {header.VoxOffset}, but the file has {fileLength} bytes");
        if (gzipped && needed > fileLength * MaxDeflateRatio + 4096)
            throw new InvalidInputException(path, $"header promises {needed} bytes, more than a {fileLength}-byte gzip file can hold");

        long gap = header.VoxOffset - headerSize;
        if (gap > MaxExtensionBytes)
            throw new InvalidInputException(path, $"vox_offset {header.VoxOffset} leaves an implausible {gap} bytes of extensions");
        var between = new byte[gap];
        stream.ReadExactly(between);
        if (gap >= NiftiLayout.ExtensionFlagSize && between[0] != 0)
            header.Extensions = between[NiftiLayout.ExtensionFlagSize..];

        if (headerOnly) return new NiftiImage(header, [], sizeX, sizeY, sizeZ, path);
        var data = new byte[dataBytes];
        stream.ReadExactly(data);
        RejectSurplusData(path, stream, gzipped ? null : fileLength - needed, dataBytes / sizeZ);
        var raw = new double[voxels];
        VoxelCodec.Decode(data, header.DataType, little, raw);
        if (!header.DataType.IsInteger()) RejectNonFinite(path, raw);
        return new NiftiImage(header, raw, sizeX, sizeY, sizeZ, path);
    }

    /// <summary>
    /// A whole slice or more of data beyond what the dimensions declare means the header does not describe
    /// the file (a 4D series declared 3D, wrong dims): refused. A few bytes of padding are left alone.
    /// </summary>
    private static void RejectSurplusData(string path, Stream stream, long? knownSurplus, long sliceBytes)
    {
        long surplus = knownSurplus ?? CountUpTo(stream, sliceBytes);
        if (surplus >= sliceBytes)
            throw new InvalidInputException(path, $"holds {(knownSurplus is null ? "at least " : "")}{surplus} bytes of voxel data beyond what its dimensions declare (a slice is {sliceBytes} bytes): the header does not describe the file");
    }

    private static long CountUpTo(Stream stream, long limit)
    {
        var buffer = new byte[(int)Math.Min(limit, 1 << 16)];
        long total = 0;
        while (total < limit)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, limit - total));
            if (read == 0) break;
            total += read;
        }
        return total;
    }

    private static bool IsGzip(FileStream file)
    {
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        return b0 == 0x1f && b1 == 0x8b;
    }

    private static (int Version, bool Little) DetectVersion(string path, byte[] sizeField, bool gzipped)
    {
        int little = BitConverter.ToInt32(sizeField, 0);
        int big = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(little);
        if (!BitConverter.IsLittleEndian) (little, big) = (big, little);
        if (little == NiftiLayout.Size1) return (1, true);
        if (big == NiftiLayout.Size1) return (1, false);
        if (little == NiftiLayout.Size2) return (2, true);
        if (big == NiftiLayout.Size2) return (2, false);
        string what = gzipped ? "gzip file does not contain a NIfTI image" : "not a NIfTI file";
        throw new InvalidInputException(path, $"{what}: header size field is {little}, expected 348 (NIfTI-1) or 540 (NIfTI-2)");
    }

    private static NiftiHeader ParseHeader(string path, byte[] bytes, int version, bool little)
    {
        var header = new NiftiHeader { Version = version, LittleEndian = little };
        ReadOnlySpan<byte> magic = version == 1
            ? bytes.AsSpan(NiftiLayout.MagicOffset1, 4)
            : bytes.AsSpan(NiftiLayout.MagicOffset2, 8);
        if (magic.SequenceEqual(NiftiLayout.MagicPairedFile1) || magic.SequenceEqual(NiftiLayout.MagicPairedFile2))
            throw new InvalidInputException(path, "two-file NIfTI (.hdr/.img) is not supported; convert it to a single .nii or .nii.gz");
        if (!magic.SequenceEqual(version == 1 ? NiftiLayout.MagicSingleFile1 : NiftiLayout.MagicSingleFile2))
            throw new InvalidInputException(path, $"bad NIfTI-{version} magic string '{System.Text.Encoding.ASCII.GetString(magic).TrimEnd('\0')}'");

        foreach (var field in NiftiLayout.Fields)
            field.Set(header, NiftiLayout.ReadValue(bytes, version == 1 ? field.Offset1 : field.Offset2, version == 1 ? field.Kind1 : field.Kind2, little));
        foreach (var text in NiftiLayout.TextFields)
            text.Set(header, NiftiLayout.ReadText(bytes, version == 1 ? text.Offset1 : text.Offset2, text.Length));

        short code = (short)header.DataType;
        if (!NiftiDataTypes.IsSupported(code))
            throw new InvalidInputException(path, $"data type {NiftiDataTypes.Describe(code)} is not supported (supported: uint8, int8, int16, uint16, int32, uint32, int64, float32, float64)");
        int bitsPerVoxel = header.DataType.BytesPerVoxel() * 8;
        if (header.BitPix != bitsPerVoxel)
            throw new InvalidInputException(path, $"bitpix {header.BitPix} does not match data type {NiftiDataTypes.Describe(code)} ({bitsPerVoxel} bits)");
        if (!double.IsFinite(header.SclSlope) || !double.IsFinite(header.SclInter))
            throw new InvalidInputException(path, $"scl_slope/scl_inter are not finite ({header.SclSlope}, {header.SclInter})");
        return header;
    }

    private static (long X, long Y, long Z) ValidateDimensions(string path, NiftiHeader header)
    {
        long rank = header.Dim[0];
        if (rank < 2 || rank > 7)
            throw new InvalidInputException(path, $"dim[0] = {rank}: only 2D and 3D images (or 4D with one time point) are supported");
        for (int i = 1; i <= rank; i++)
            if (header.Dim[i] < 1) throw new InvalidInputException(path, $"dim[{i}] = {header.Dim[i]} is not a valid size");
        for (int i = 4; i <= rank; i++)
            if (header.Dim[i] != 1)
                throw new InvalidInputException(path, $"{rank}D image with dim[{i}] = {header.Dim[i]}: only 2D and 3D images (or 4D with one time point) are supported");

        long x = header.Dim[1], y = header.Dim[2], z = rank >= 3 ? header.Dim[3] : 1;
        if (x > MaxAxisLength || y > MaxAxisLength || z > MaxAxisLength)
            throw new InvalidInputException(path, $"image of {x}x{y}x{z} voxels is longer along an axis than GreenSeg accepts ({MaxAxisLength})");
        if (x * y * z > MaxVoxels)
            throw new InvalidInputException(path, $"image of {x}x{y}x{z} voxels is larger than GreenSeg accepts ({MaxVoxels} voxels; GREENSEG_MAX_VOXELS raises the limit)");
        CheckSpacing(path, header, 1, x);
        CheckSpacing(path, header, 2, y);
        if (rank >= 3) CheckSpacing(path, header, 3, z);
        return (x, y, z);
    }

    private static void CheckSpacing(string path, NiftiHeader header, int axis, long size)
    {
        double spacing = header.PixDim[axis];
        if (size > 1 && !(double.IsFinite(spacing) && spacing != 0))
            throw new InvalidInputException(path, $"pixdim[{axis}] = {spacing} is not a usable voxel size");
    }

    private static void RejectNonFinite(string path, double[] raw)
    {
        long bad = 0;
        long first = -1;
        for (long i = 0; i < raw.Length; i++)
        {
            if (double.IsFinite(raw[i])) continue;
            if (first < 0) first = i;
            bad++;
        }
        if (bad > 0)
            throw new InvalidInputException(path, $"{bad} voxels are NaN or infinite (first at index {first})");
    }
}
