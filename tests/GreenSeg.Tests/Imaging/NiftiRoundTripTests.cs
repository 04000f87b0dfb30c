using CsCheck;
using GreenSeg.Imaging;

namespace GreenSeg.Tests.Imaging;

public sealed class NiftiRoundTripTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greenseg-nifti-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<NiftiDataType, bool, bool> EveryTypeOrderAndCompression()
    {
        var data = new TheoryData<NiftiDataType, bool, bool>();
        foreach (var type in Enum.GetValues<NiftiDataType>())
            foreach (bool little in new[] { true, false })
                foreach (bool gzip in new[] { true, false })
                    data.Add(type, little, gzip);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryTypeOrderAndCompression))]
    public void RawValuesAndHeaderSurviveWriteThenRead(NiftiDataType type, bool little, bool gzip)
    {
        var (min, max) = type.Range();
        // int64 values are held as doubles: stay where doubles are exact.
        min = Math.Max(min, -(1L << 52));
        max = Math.Min(max, 1L << 52);
        var gen = Gen.Select(Gen.Int[1, 9], Gen.Int[1, 7], Gen.Int[1, 5], Gen.Double[0.1, 5], Gen.Bool, Gen.Int[0, 1000]);
        int counter = 0;
        gen.Sample((sx, sy, sz, spacing, scaled, seed) =>
        {
            var random = new Random(seed);
            var raw = new double[sx * sy * sz];
            for (int i = 0; i < raw.Length; i++)
            {
                double v = min + random.NextDouble() * (max - min);
                raw[i] = type.IsInteger() ? Math.Clamp(Math.Round(v), min, max) : type == NiftiDataType.Float32 ? (float)v : v;
            }
            var header = new NiftiHeader
            {
                LittleEndian = little,
                DataType = type,
                Dim = [sz > 1 ? 3 : 2, sx, sy, sz, 1, 1, 1, 1],
                PixDim = [-1, (float)spacing, (float)(spacing * 2), 3, 0, 0, 0, 0],
                SclSlope = scaled ? 0.5 : 1,
                SclInter = scaled ? -3 : 0,
                QFormCode = 2,
                SFormCode = 1,
                QuaternB = 0.5f, QuaternC = -0.25f, QuaternD = 0.125f,
                QOffsetX = 10.5f, QOffsetY = -20, QOffsetZ = 30.25f,
                SRowX = [1, 0.5f, 0, -12], SRowY = [0, 2, 0, 7.5f], SRowZ = [0.25f, 0, 3, 1],
                XyztUnits = 10,
                Description = "round trip",
                IntentName = "test",
                Extensions = [8, 0, 0, 0, 4, 0, 0, 0], // one empty extension: esize 8, ecode 4
            };
            var image = new NiftiImage(header, raw, sx, sy, sz, null);
            // CsCheck runs samples on several threads at once: each needs a file of its own.
            string path = Path.Combine(_dir, $"rt{Interlocked.Increment(ref counter)}.nii{(gzip ? ".gz" : "")}");
            image.Write(path);
            var back = NiftiImage.Read(path);

            back.Raw.ShouldBe(raw);
            (back.SizeX, back.SizeY, back.SizeZ).ShouldBe((sx, sy, sz));
            back.Header.LittleEndian.ShouldBe(little);
            back.Header.DataType.ShouldBe(type);
            back.Header.Dim.ShouldBe(header.Dim);
            back.Header.PixDim.ShouldBe(header.PixDim);
            back.Header.SclSlope.ShouldBe(header.SclSlope);
            back.Header.SclInter.ShouldBe(header.SclInter);
            back.Header.Affine().ShouldBe(header.Affine());
            back.Header.Description.ShouldBe("round trip");
            back.Header.Extensions.ShouldBe(header.Extensions);
        }, iter: 12);
    }

    [Fact]
    public void MaskWrittenLikeAnImageKeepsItsGeometry()
    {
        var source = NiftiImage.Create(4, 3, 2, 0.75, 0.75, 3.5, new float[24], NiftiDataType.Int16);
        source.Header.QFormCode = 1;
        source.Header.QuaternD = 0.25;
        source.Header.SRowX = [0, -0.75, 0, 40];
        var mask = new byte[24];
        mask[5] = 1;
        string path = Path.Combine(_dir, "mask.nii.gz");
        source.WithMask(mask).Write(path);

        var back = NiftiImage.Read(path);
        back.Header.DataType.ShouldBe(NiftiDataType.UInt8);
        back.Header.Affine().ShouldBe(source.Header.Affine());
        back.BinaryMask().ShouldBe(mask);
        back.SpacingX.ShouldBe(0.75, 1e-6);
        back.SpacingZ.ShouldBe(3.5, 1e-6);
    }

    [Fact]
    public void ValuesOutsideTheTypeAreRefusedNotWrapped()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => NiftiImage.Create(2, 1, 1, 1, 1, 1, new float[] { 0, 300 }, NiftiDataType.UInt8));
    }

    [Fact]
    public void ScalingFollowsTheStandardIncludingSlopeZero()
    {
        var header = new NiftiHeader { DataType = NiftiDataType.Int16, Dim = [2, 3, 1, 1, 1, 1, 1, 1], PixDim = [1, 1, 1, 1, 1, 1, 1, 1] };
        header.SclSlope = 2;
        header.SclInter = 1;
        new NiftiImage(header, [-1, 0, 5], 3, 1, 1, null).Scaled().ShouldBe(new float[] { -1, 1, 11 });
        header.SclSlope = 0; // "no scaling"
        header.SclInter = 100;
        new NiftiImage(header, [-1, 0, 5], 3, 1, 1, null).Scaled().ShouldBe(new float[] { -1, 0, 5 });
    }
}
