namespace GreenSeg.Common;

/// <summary>
/// An axis-aligned box of voxels in a source grid, given by its first voxel and its sizes. It may reach
/// past the source (after <see cref="Grown"/>): such voxels read as default when cropped.
/// </summary>
internal readonly record struct VoxelBox(int MinX, int MinY, int MinZ, int SizeX, int SizeY, int SizeZ)
{
    /// <summary>The smallest box holding every nonzero voxel of either mask; null when both are empty.</summary>
    public static VoxelBox? Enclosing(VoxelGrid grid, ReadOnlySpan<byte> mask, ReadOnlySpan<byte> other = default)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        if (!other.IsEmpty) grid.RequireLength(other.Length, nameof(other));
        int minX = int.MaxValue, minY = int.MaxValue, minZ = int.MaxValue, maxX = -1, maxY = -1, maxZ = -1;
        for (int z = 0; z < grid.SizeZ; z++)
            for (int y = 0; y < grid.SizeY; y++)
            {
                int row = grid.Index(0, y, z);
                int first = FirstSet(mask, other, row, grid.SizeX);
                if (first < 0) continue;
                int last = LastSet(mask, other, row, grid.SizeX);
                minX = Math.Min(minX, first); maxX = Math.Max(maxX, last);
                minY = Math.Min(minY, y); maxY = Math.Max(maxY, y);
                minZ = Math.Min(minZ, z); maxZ = z;
            }
        return maxX < 0 ? null : new VoxelBox(minX, minY, minZ, maxX - minX + 1, maxY - minY + 1, maxZ - minZ + 1);
    }

    /// <summary>One voxel more on both sides of each axis flagged true.</summary>
    public VoxelBox Grown(bool alongX, bool alongY, bool alongZ)
    {
        int gx = alongX ? 1 : 0, gy = alongY ? 1 : 0, gz = alongZ ? 1 : 0;
        return new VoxelBox(MinX - gx, MinY - gy, MinZ - gz, SizeX + 2 * gx, SizeY + 2 * gy, SizeZ + 2 * gz);
    }

    /// <summary>The box as a grid of its own, with the source's spacing.</summary>
    public VoxelGrid GridIn(VoxelGrid source) =>
        new(SizeX, SizeY, SizeZ, source.SpacingX, source.SpacingY, source.SpacingZ);

    /// <summary>The box's values (x fastest); voxels outside the source are default.</summary>
    public T[] Crop<T>(ReadOnlySpan<T> source, VoxelGrid grid)
    {
        var box = new T[SizeX * SizeY * SizeZ];
        foreach (var (sourceStart, boxStart, length) in Rows(grid))
            source.Slice(sourceStart, length).CopyTo(box.AsSpan(boxStart, length));
        return box;
    }

    /// <summary>Writes the box's values back over the part of the source grid it covers.</summary>
    public void Paste<T>(ReadOnlySpan<T> box, Span<T> target, VoxelGrid grid)
    {
        foreach (var (sourceStart, boxStart, length) in Rows(grid))
            box.Slice(boxStart, length).CopyTo(target.Slice(sourceStart, length));
    }

    /// <summary>The x-rows of the box inside the source grid: start in the source, start in the box, length.</summary>
    private IEnumerable<(int SourceStart, int BoxStart, int Length)> Rows(VoxelGrid grid)
    {
        int x0 = Math.Max(MinX, 0), x1 = Math.Min(MinX + SizeX, grid.SizeX);
        if (x1 <= x0) yield break;
        for (int z = Math.Max(MinZ, 0); z < Math.Min(MinZ + SizeZ, grid.SizeZ); z++)
            for (int y = Math.Max(MinY, 0); y < Math.Min(MinY + SizeY, grid.SizeY); y++)
                yield return (grid.Index(x0, y, z), x0 - MinX + SizeX * (y - MinY + SizeY * (z - MinZ)), x1 - x0);
    }

    private static int FirstSet(ReadOnlySpan<byte> mask, ReadOnlySpan<byte> other, int row, int length)
    {
        int a = mask.Slice(row, length).IndexOfAnyExcept((byte)0);
        if (other.IsEmpty) return a;
        int b = other.Slice(row, length).IndexOfAnyExcept((byte)0);
        return a < 0 ? b : b < 0 ? a : Math.Min(a, b);
    }

    private static int LastSet(ReadOnlySpan<byte> mask, ReadOnlySpan<byte> other, int row, int length)
    {
        int a = mask.Slice(row, length).LastIndexOfAnyExcept((byte)0);
        return other.IsEmpty ? a : Math.Max(a, other.Slice(row, length).LastIndexOfAnyExcept((byte)0));
    }
}
