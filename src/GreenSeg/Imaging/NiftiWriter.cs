using System.IO.Compression;
using GreenSeg.Common;

namespace GreenSeg.Imaging;

/// <summary>Writes single-file NIfTI (.nii or .nii.gz by extension) atomically, in the header's version and byte order.</summary>
internal static class NiftiWriter
{
    public static void Write(NiftiImage image, string path)
    {
        var header = image.Header.Clone();
        int version = header.Version;
        int headerSize = version == 1 ? NiftiLayout.Size1 : NiftiLayout.Size2;
        if (version == 1 && (header.Dim.Any(d => d > short.MaxValue)))
            throw new GreenSegException($"{path}: dimensions {string.Join('x', header.Dim.Skip(1).Take((int)header.Dim[0]))} do not fit NIfTI-1; write NIfTI-2");
        header.BitPix = (short)(header.DataType.BytesPerVoxel() * 8);
        int extensionBlock = NiftiLayout.ExtensionFlagSize + header.Extensions.Length;
        header.VoxOffset = headerSize + extensionBlock;

        var bytes = new byte[header.VoxOffset + image.Raw.Length * (long)header.DataType.BytesPerVoxel()];
        bool little = header.LittleEndian;
        NiftiLayout.WriteValue(bytes, 0, NiftiLayout.Kind.I32, little, headerSize);
        if (version == 1)
        {
            NiftiLayout.MagicSingleFile1.CopyTo(bytes, NiftiLayout.MagicOffset1);
            bytes[38] = (byte)'r'; // "regular", kept for old ANALYZE readers
        }
        else NiftiLayout.MagicSingleFile2.CopyTo(bytes, NiftiLayout.MagicOffset2);
        foreach (var field in NiftiLayout.Fields)
            NiftiLayout.WriteValue(bytes, version == 1 ? field.Offset1 : field.Offset2, version == 1 ? field.Kind1 : field.Kind2, little, field.Get(header));
        foreach (var text in NiftiLayout.TextFields)
            NiftiLayout.WriteText(bytes, version == 1 ? text.Offset1 : text.Offset2, text.Length, text.Get(header));
        if (header.Extensions.Length > 0)
        {
            bytes[headerSize] = 1;
            header.Extensions.CopyTo(bytes, headerSize + NiftiLayout.ExtensionFlagSize);
        }
        VoxelCodec.Encode(image.Raw, header.DataType, little, bytes.AsSpan((int)header.VoxOffset));

        bool gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        AtomicFile.Write(path, stream =>
        {
            if (!gzip)
            {
                stream.Write(bytes);
                return;
            }
            using var compressor = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            compressor.Write(bytes);
        });
    }
}
