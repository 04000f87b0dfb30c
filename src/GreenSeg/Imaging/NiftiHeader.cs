namespace GreenSeg.Imaging;

/// <summary>
/// Every field of a NIfTI-1 or NIfTI-2 header, held in the wider NIfTI-2 types so that nothing is lost
/// whichever version was read. Writing a mask "like" an input clones this, so geometry (dims, pixdim,
/// qform/sform codes and matrices, units) survives and viewers open the two aligned.
/// </summary>
public sealed class NiftiHeader
{
    public int Version { get; set; } = 1;
    /// <summary>Byte order of the file it came from; writing keeps it.</summary>
    public bool LittleEndian { get; set; } = true;

    public long[] Dim { get; set; } = new long[8];
    public double[] PixDim { get; set; } = new double[8];
    public NiftiDataType DataType { get; set; } = NiftiDataType.Float32;
    public short BitPix { get; set; } = 32;
    public long VoxOffset { get; set; }
    public double SclSlope { get; set; } = 1;
    public double SclInter { get; set; }
    public double IntentP1 { get; set; }
    public double IntentP2 { get; set; }
    public double IntentP3 { get; set; }
    public int IntentCode { get; set; }
    public string IntentName { get; set; } = "";
    public long SliceStart { get; set; }
    public long SliceEnd { get; set; }
    public int SliceCode { get; set; }
    public int XyztUnits { get; set; }
    public double CalMax { get; set; }
    public double CalMin { get; set; }
    public double SliceDuration { get; set; }
    public double TOffset { get; set; }
    public byte DimInfo { get; set; }
    public string Description { get; set; } = "";
    public string AuxFile { get; set; } = "";
    public int QFormCode { get; set; }
    public int SFormCode { get; set; }
    public double QuaternB { get; set; }
    public double QuaternC { get; set; }
    public double QuaternD { get; set; }
    public double QOffsetX { get; set; }
    public double QOffsetY { get; set; }
    public double QOffsetZ { get; set; }
    public double[] SRowX { get; set; } = new double[4];
    public double[] SRowY { get; set; } = new double[4];
    public double[] SRowZ { get; set; } = new double[4];
    /// <summary>Raw extension bytes (after the 4-byte extension flag), in the file's byte order.</summary>
    public byte[] Extensions { get; set; } = [];

    /// <summary>True when slope 0 (the standard's "no scaling") or the identity.</summary>
    public bool HasNoScaling => SclSlope == 0 || (SclSlope == 1 && SclInter == 0);

    public NiftiHeader Clone()
    {
        var copy = (NiftiHeader)MemberwiseClone();
        copy.Dim = (long[])Dim.Clone();
        copy.PixDim = (double[])PixDim.Clone();
        copy.SRowX = (double[])SRowX.Clone();
        copy.SRowY = (double[])SRowY.Clone();
        copy.SRowZ = (double[])SRowZ.Clone();
        copy.Extensions = (byte[])Extensions.Clone();
        return copy;
    }

    /// <summary>
    /// Voxel-to-world 4x4 matrix (row major) as a viewer would use it: the sform when its code is set,
    /// else the qform (quaternion, offsets, pixdim and qfac), else pixdim scaling alone (method 1 of nifti1.h).
    /// </summary>
    public double[,] Affine()
    {
        if (SFormCode > 0)
        {
            return new double[,]
            {
                { SRowX[0], SRowX[1], SRowX[2], SRowX[3] },
                { SRowY[0], SRowY[1], SRowY[2], SRowY[3] },
                { SRowZ[0], SRowZ[1], SRowZ[2], SRowZ[3] },
                { 0, 0, 0, 1 },
            };
        }
        double dx = PixDim[1], dy = PixDim[2], dz = PixDim[3];
        if (QFormCode <= 0)
            return new double[,] { { dx, 0, 0, 0 }, { 0, dy, 0, 0 }, { 0, 0, dz, 0 }, { 0, 0, 0, 1 } };

        double b = QuaternB, c = QuaternC, d = QuaternD;
        double a = 1.0 - (b * b + c * c + d * d);
        if (a < 1e-7)
        {
            // nifti1.h: a 180-degree rotation; renormalise (b, c, d) and take a = 0.
            double norm = 1.0 / Math.Sqrt(b * b + c * c + d * d);
            b *= norm; c *= norm; d *= norm;
            a = 0;
        }
        else a = Math.Sqrt(a);
        double qfac = PixDim[0] < 0 ? -1 : 1;
        dz *= qfac;
        return new double[,]
        {
            { (a * a + b * b - c * c - d * d) * dx, 2 * (b * c - a * d) * dy, 2 * (b * d + a * c) * dz, QOffsetX },
            { 2 * (b * c + a * d) * dx, (a * a + c * c - b * b - d * d) * dy, 2 * (c * d - a * b) * dz, QOffsetY },
            { 2 * (b * d - a * c) * dx, 2 * (c * d + a * b) * dy, (a * a + d * d - c * c - b * b) * dz, QOffsetZ },
            { 0, 0, 0, 1 },
        };
    }
}
