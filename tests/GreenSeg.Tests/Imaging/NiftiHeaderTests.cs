using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using GreenSeg.Imaging;

namespace GreenSeg.Tests.Imaging;

/// <summary>Headers built byte by byte from the nifti1.h / nifti2.h offsets, independently of the reader's table.</summary>
public sealed class NiftiHeaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greenseg-header-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static byte[] HandMadeNifti1(bool little, short datatype = 4, short[]? dims = null, float voxOffset = 352, int dataBytes = -1)
    {
        dims ??= [3, 4, 3, 2, 1, 1, 1, 1];
        long voxels = 1;
        for (int i = 1; i <= dims[0]; i++) voxels *= dims[i];
        int size = dataBytes >= 0 ? dataBytes : (int)voxels * 2;
        var b = new byte[352 + size];
        void I16(int o, short v) { if (little) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(o), v); else BinaryPrimitives.WriteInt16BigEndian(b.AsSpan(o), v); }
        void I32(int o, int v) { if (little) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(o), v); else BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(o), v); }
        void F32(int o, float v) { if (little) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(o), v); else BinaryPrimitives.WriteSingleBigEndian(b.AsSpan(o), v); }
        I32(0, 348);
        b[39] = 0x39; // dim_info
        for (int i = 0; i < 8; i++) I16(40 + 2 * i, dims[i]);
        F32(56, 1.5f); F32(60, 2.5f); F32(64, 3.5f);
        I16(68, 1002); // intent_code
        I16(70, datatype);
        I16(72, 16);
        I16(74, 0);
        float[] pixdim = [-1, 0.75f, 0.8f, 3.0f, 2.0f, 0, 0, 0];
        for (int i = 0; i < 8; i++) F32(76 + 4 * i, pixdim[i]);
        F32(108, voxOffset);
        F32(112, 2f); F32(116, -1f);
        I16(120, 1);
        b[122] = 3; b[123] = 10;
        F32(124, 500); F32(128, 10); F32(132, 0.05f); F32(136, 0.5f);
        Encoding.ASCII.GetBytes("hand made header").CopyTo(b, 148);
        Encoding.ASCII.GetBytes("aux.txt").CopyTo(b, 228);
        I16(252, 1); I16(254, 4);
        F32(256, 0f); F32(260, 0f); F32(264, 1f); // 180 degrees about z
        F32(268, 11); F32(272, 22); F32(276, 33);
        float[] srows = [0.75f, 0, 0, -90, 0, 0.8f, 0, -120, 0, 0, 3, -60];
        for (int i = 0; i < 12; i++) F32(280 + 4 * i, srows[i]);
        Encoding.ASCII.GetBytes("label").CopyTo(b, 328);
        Encoding.ASCII.GetBytes("n+1\0").CopyTo(b, 344);
        for (int i = 0; i < size / 2 && i < voxels; i++) I16(352 + 2 * i, (short)(i - 5));
        return b;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Nifti1FieldsAreReadFieldByField(bool little)
    {
        string path = Path.Combine(_dir, "hand.nii");
        File.WriteAllBytes(path, HandMadeNifti1(little));
        var image = NiftiImage.Read(path);
        var h = image.Header;

        h.Version.ShouldBe(1);
        h.LittleEndian.ShouldBe(little);
        h.DimInfo.ShouldBe((byte)0x39);
        h.Dim.ShouldBe(new long[] { 3, 4, 3, 2, 1, 1, 1, 1 });
        (h.IntentP1, h.IntentP2, h.IntentP3, h.IntentCode).ShouldBe((1.5, 2.5, 3.5, 1002));
        h.DataType.ShouldBe(NiftiDataType.Int16);
        h.PixDim.ShouldBe(new double[] { -1, 0.75f, 0.8f, 3, 2, 0, 0, 0 });
        h.VoxOffset.ShouldBe(352);
        (h.SclSlope, h.SclInter).ShouldBe((2.0, -1.0));
        (h.SliceEnd, h.SliceCode, h.XyztUnits).ShouldBe((1L, 3, 10));
        (h.CalMax, h.CalMin).ShouldBe((500.0, 10.0));
        h.SliceDuration.ShouldBe(0.05f);
        h.TOffset.ShouldBe(0.5);
        h.Description.ShouldBe("hand made header");
        h.AuxFile.ShouldBe("aux.txt");
        (h.QFormCode, h.SFormCode).ShouldBe((1, 4));
        (h.QuaternB, h.QuaternC, h.QuaternD).ShouldBe((0.0, 0.0, 1.0));
        (h.QOffsetX, h.QOffsetY, h.QOffsetZ).ShouldBe((11.0, 22.0, 33.0));
        h.SRowY.ShouldBe(new double[] { 0, 0.8f, 0, -120 });
        h.IntentName.ShouldBe("label");
        (image.SizeX, image.SizeY, image.SizeZ).ShouldBe((4, 3, 2));
        image.Raw[0].ShouldBe(-5);
        image.Raw[23].ShouldBe(18);
        image.Scaled()[0].ShouldBe(-11f);

        // sform wins when set; the qform (180 degrees about z, qfac -1) as nifti1.h defines it otherwise.
        h.Affine()[0, 3].ShouldBe(-90);
        h.SFormCode = 0;
        var q = h.Affine();
        q[0, 0].ShouldBe(-0.75, 1e-6);
        q[1, 1].ShouldBe(-0.8, 1e-6);
        q[2, 2].ShouldBe(-3, 1e-6);
        q[0, 3].ShouldBe(11);
    }

    [Fact]
    public void Nifti2IsReadWithItsWideFields()
    {
        var b = new byte[544 + 6 * 4];
        BinaryPrimitives.WriteInt32LittleEndian(b, 540);
        new byte[] { (byte)'n', (byte)'+', (byte)'2', 0, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(b, 4);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(12), 16); // float32
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(14), 32);
        long[] dims = [2, 3, 2, 1, 1, 1, 1, 1];
        for (int i = 0; i < 8; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16 + 8 * i), dims[i]);
        double[] pixdim = [1, 0.5, 0.25, 1, 1, 1, 1, 1];
        for (int i = 0; i < 8; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(104 + 8 * i), pixdim[i]);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(168), 544);
        BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(176), 0); // slope 0: no scaling
        Encoding.ASCII.GetBytes("nifti two").CopyTo(b, 240);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(344), 1);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(500), 2);
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(544 + 4 * i), i * 1.5f);
        string path = Path.Combine(_dir, "two.nii.gz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest)) gz.Write(b);

        var image = NiftiImage.Read(path);
        image.Header.Version.ShouldBe(2);
        (image.SizeX, image.SizeY, image.SizeZ).ShouldBe((3, 2, 1));
        (image.SpacingX, image.SpacingY).ShouldBe((0.5, 0.25));
        image.Header.Description.ShouldBe("nifti two");
        image.Header.QFormCode.ShouldBe(1);
        image.Header.XyztUnits.ShouldBe(2);
        image.Scaled().ShouldBe(new float[] { 0, 1.5f, 3, 4.5f, 6, 7.5f });
    }

    [Fact]
    public void FourDimensionalWithOneTimePointIsThreeDimensional()
    {
        string path = Path.Combine(_dir, "4d.nii");
        File.WriteAllBytes(path, HandMadeNifti1(true, dims: [4, 4, 3, 2, 1, 1, 1, 1]));
        var image = NiftiImage.Read(path);
        (image.SizeX, image.SizeY, image.SizeZ).ShouldBe((4, 3, 2));
    }
}
