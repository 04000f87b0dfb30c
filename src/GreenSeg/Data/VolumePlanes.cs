namespace GreenSeg.Data;

/// <summary>
/// A volume's planes across one of its voxel axes, as 2D images: the stored slices (across <see cref="CutAxis.Z"/>) or
/// the planes cut across x or y, whose pixel rows run through the slices. One indexing for training's cut planes
/// (<see cref="MultiPlanarCuts"/>) and the views segmentation averages, so the two cannot drift apart.
/// </summary>
public readonly record struct VolumePlanes(CutAxis Axis, int SizeX, int SizeY, int SizeZ)
{
    /// <summary>How many planes cross the axis.</summary>
    public int Count => Axis switch { CutAxis.X => SizeX, CutAxis.Y => SizeY, _ => SizeZ };
    /// <summary>A plane's pixel columns: y across x, else x.</summary>
    public int Width => Axis == CutAxis.X ? SizeY : SizeX;
    /// <summary>A plane's pixel rows: y for a stored slice, else the slices.</summary>
    public int Height => Axis == CutAxis.Z ? SizeY : SizeZ;
    public int PixelCount => Width * Height;

    /// <summary>The volume voxel at pixel (u, v) of plane <paramref name="plane"/>.</summary>
    public int VoxelIndex(int plane, int u, int v)
    {
        var (planeStride, uStride, vStride) = Strides;
        return plane * planeStride + u * uStride + v * vStride;
    }

    /// <summary>How far apart in the volume neighbouring planes, columns and rows are.</summary>
    private (int Plane, int U, int V) Strides => Axis switch
    {
        CutAxis.X => (1, SizeX, SizeX * SizeY),
        CutAxis.Y => (SizeX, 1, SizeX * SizeY),
        _ => (SizeX * SizeY, 1, SizeX),
    };

    /// <summary>A plane's pixel spacing (columns, rows) from the volume's voxel spacing.</summary>
    public (double U, double V) Spacing(double spacingX, double spacingY, double spacingZ) => Axis switch
    {
        CutAxis.X => (spacingY, spacingZ),
        CutAxis.Y => (spacingX, spacingZ),
        _ => (spacingX, spacingY),
    };

    /// <summary>The voxel-to-world columns of a plane (its column axis, its row axis, its normal) from the volume's affine.</summary>
    public double[,] PlaneAffine(double[,] affine)
    {
        int[] columns = Axis switch { CutAxis.X => [1, 2, 0], CutAxis.Y => [0, 2, 1], _ => [0, 1, 2] };
        var plane = new double[3, 3];
        for (int row = 0; row < 3; row++)
            for (int column = 0; column < 3; column++)
                plane[row, column] = affine[row, columns[column]];
        return plane;
    }

    /// <summary>Copies plane <paramref name="plane"/> out of the volume, row by row.</summary>
    public void Read<T>(ReadOnlySpan<T> volume, int plane, Span<T> destination)
    {
        Check(volume.Length, plane, destination.Length);
        var (planeStride, uStride, vStride) = Strides;
        for (int v = 0, pixel = 0, row = plane * planeStride; v < Height; v++, row += vStride)
            for (int u = 0, voxel = row; u < Width; u++, pixel++, voxel += uStride)
                destination[pixel] = volume[voxel];
    }

    /// <summary>Adds a plane's pixels to the volume's voxels it was read from (distinct planes touch distinct voxels).</summary>
    public void Add(ReadOnlySpan<float> pixels, int plane, Span<float> volume)
    {
        Check(volume.Length, plane, pixels.Length);
        var (planeStride, uStride, vStride) = Strides;
        for (int v = 0, pixel = 0, row = plane * planeStride; v < Height; v++, row += vStride)
            for (int u = 0, voxel = row; u < Width; u++, pixel++, voxel += uStride)
                volume[voxel] += pixels[pixel];
    }

    private void Check(int volumeLength, int plane, int pixels)
    {
        if (volumeLength != SizeX * SizeY * SizeZ) throw new ArgumentException($"the volume holds {volumeLength} voxels, not {SizeX}x{SizeY}x{SizeZ}");
        if (plane < 0 || plane >= Count) throw new ArgumentOutOfRangeException(nameof(plane), plane, $"a plane across {Axis} must lie in [0, {Count})");
        if (pixels != PixelCount) throw new ArgumentException($"a plane across {Axis} holds {Width}x{Height} pixels, not {pixels}");
    }
}
