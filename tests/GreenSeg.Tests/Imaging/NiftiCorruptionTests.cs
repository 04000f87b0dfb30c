using System.Buffers.Binary;
using System.IO.Compression;
using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Tests.Imaging;

/// <summary>A corpus of damaged files made in the test: each must give a clear error naming the file.</summary>
public sealed class NiftiCorruptionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greenseg-corrupt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Valid() => NiftiHeaderTests.HandMadeNifti1(little: true);

    private static byte[] With(Action<byte[]> damage)
    {
        var bytes = Valid();
        damage(bytes);
        return bytes;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(bytes);
        return output.ToArray();
    }

    public static TheoryData<string, byte[], string> Corpus() => new()
    {
        { "empty.nii", [], "too short" },
        { "text.nii", "hello, this is not an image at all"u8.ToArray(), "not a NIfTI file" },
        { "truncated-header.nii", Valid()[..200], "truncated" },
        { "truncated-data.nii", Valid()[..360], "truncated" },
        { "truncated.nii.gz", Gzip(Valid())[..40], "truncated" },
        { "bad-crc.nii.gz", With2(Gzip(Valid()), b => b[^6] ^= 0xFF), "gzip" },
        { "garbage-gzip.nii.gz", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3], "gzip" },
        { "bad-magic.nii", With(b => b[344] = (byte)'x'), "magic" },
        { "pair-magic.nii", With(b => "ni1\0"u8.CopyTo(b.AsSpan(344))), "two-file NIfTI" },
        { "complex.nii", With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 32)), "complex64" },
        { "rgb.nii", With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 128)), "RGB24" },
        { "dim0.nii", With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40), 0)), "dim[0]" },
        { "dim-negative.nii", With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44), -4)), "dim[2]" },
        { "timeseries.nii", With(b => { BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40), 4); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(48), 5); }), "dim[4] = 5" },
        { "huge.nii", With(b => { for (int i = 1; i <= 3; i++) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40 + 2 * i), 32000); }), "longer along an axis than GreenSeg accepts" },
        { "many-slices.nii", With(b => { BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(42), 2); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44), 2); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(46), 30000); }), "longer along an axis" },
        { "too-many-voxels.nii", With(b => { BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(42), 4096); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44), 4096); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(46), 4); }), "GREENSEG_MAX_VOXELS" },
        { "promises-too-much.nii", With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(42), 3000)), "truncated" },
        { "promises-too-much.nii.gz", Gzip(With(b => { BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(42), 4000); BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44), 4000); })), "gzip file can hold" },
        { "vox-offset-inside.nii", With(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 100)), "vox_offset" },
        { "vox-offset-far.nii", With(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 1e9f)), "truncated" },
        { "nan-slope.nii", With(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(112), float.NaN)), "scl_slope" },
        { "zero-spacing.nii", With(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(80), 0)), "pixdim[1]" },
        { "nan-voxels.nii", NanVoxels(), "NaN or infinite" },
        { "vox-offset-348.nii", With(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 348)), "extension flag" },
        { "vox-offset-351.nii", With(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 351)), "extension flag" },
        { "bitpix-mismatch.nii", With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(72), 8)), "bitpix 8" },
        { "more-data-than-dims.nii", With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(46), 1)), "beyond what its dimensions declare" },
        { "more-data-than-dims.nii.gz", Gzip(With(b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(46), 1))), "beyond what its dimensions declare" },
    };

    private static byte[] With2(byte[] bytes, Action<byte[]> damage)
    {
        damage(bytes);
        return bytes;
    }

    private static byte[] NanVoxels()
    {
        var b = Valid();
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 16); // float32
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(72), 32); // bitpix
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(46), 1); // one slice so 12 float voxels fit in 48 bytes
        BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(352 + 8), float.PositiveInfinity);
        return b;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void DamagedFileGivesAClearErrorNamingIt(string name, byte[] content, string expected)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        var error = Should.Throw<InvalidInputException>(() => NiftiImage.Read(path));
        error.Path.ShouldBe(path);
        error.Message.ShouldStartWith(path);
        error.Problem.ShouldContain(expected, Case.Insensitive);
    }

    [Fact]
    public void MissingFileAndFolderAreClearErrors()
    {
        Should.Throw<InvalidInputException>(() => NiftiImage.Read(Path.Combine(_dir, "absent.nii"))).Problem.ShouldContain("not found");
        Should.Throw<InvalidInputException>(() => NiftiImage.Read(_dir)).Problem.ShouldContain("folder");
    }

    [Fact]
    public void RandomByteFlipsNeverEscapeAsAnythingButAClearError()
    {
        var valid = Gzip(Valid());
        var random = new Random(1234);
        for (int trial = 0; trial < 300; trial++)
        {
            var bytes = (byte[])valid.Clone();
            int flips = 1 + random.Next(4);
            for (int f = 0; f < flips; f++) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            if (random.Next(4) == 0) bytes = bytes[..random.Next(bytes.Length)];
            string path = Path.Combine(_dir, $"flip{trial}.nii.gz");
            File.WriteAllBytes(path, bytes);
            try
            {
                NiftiImage.Read(path);
            }
            catch (InvalidInputException e)
            {
                e.Path.ShouldBe(path);
            }
        }
    }
}
