namespace GreenSeg.Common;

/// <summary>
/// The shape and voxel spacing (mm) of a 3D array stored x-fastest: index x + SizeX*(y + SizeY*z),
/// the NIfTI order. A 2D slice is a grid with SizeZ == 1.
/// </summary>
public readonly record struct VoxelGrid
{
    public int SizeX { get; }
    public int SizeY { get; }
    public int SizeZ { get; }
    public double SpacingX { get; }
    public double SpacingY { get; }
    public double SpacingZ { get; }

    public VoxelGrid(int sizeX, int sizeY, int sizeZ, double spacingX = 1, double spacingY = 1, double spacingZ = 1)
    {
        if (sizeX < 1 || sizeY < 1 || sizeZ < 1)
            throw new ArgumentOutOfRangeException(nameof(sizeX), $"grid sizes must be at least 1, got {sizeX}x{sizeY}x{sizeZ}");
        if ((long)sizeX * sizeY * sizeZ > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(sizeX), $"grid {sizeX}x{sizeY}x{sizeZ} has too many voxels for one array");
        if (!IsValidSpacing(spacingX) || !IsValidSpacing(spacingY) || !IsValidSpacing(spacingZ))
            throw new ArgumentOutOfRangeException(nameof(spacingX), $"voxel spacing must be finite and positive, got {spacingX} x {spacingY} x {spacingZ} mm");
        SizeX = sizeX;
        SizeY = sizeY;
        SizeZ = sizeZ;
        SpacingX = spacingX;
        SpacingY = spacingY;
        SpacingZ = spacingZ;
    }

    public int VoxelCount => SizeX * SizeY * SizeZ;

    /// <summary>Volume of one voxel in millilitres (1 ml = 1000 mm³).</summary>
    public double VoxelVolumeMl => SpacingX * SpacingY * SpacingZ / 1000.0;

    public int Index(int x, int y, int z) => x + SizeX * (y + SizeY * z);

    public bool SameShape(VoxelGrid other) => SizeX == other.SizeX && SizeY == other.SizeY && SizeZ == other.SizeZ;

    public override string ToString() =>
        $"{SizeX}x{SizeY}x{SizeZ} @ {SpacingX:0.###}x{SpacingY:0.###}x{SpacingZ:0.###} mm";

    /// <summary>Throws unless the span holds exactly one value per voxel.</summary>
    public void RequireLength(int length, string what)
    {
        if (length != VoxelCount)
            throw new ArgumentException($"{what} has {length} values but the grid {SizeX}x{SizeY}x{SizeZ} has {VoxelCount} voxels", what);
    }

    private static bool IsValidSpacing(double spacing) => double.IsFinite(spacing) && spacing > 0;
}
