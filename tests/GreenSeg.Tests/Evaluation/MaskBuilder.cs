using GreenSeg.Common;

namespace GreenSeg.Tests.Evaluation;

/// <summary>Small hand-made masks for tests: set voxels by coordinates or boxes.</summary>
internal sealed class MaskBuilder(VoxelGrid grid)
{
    public VoxelGrid Grid { get; } = grid;
    public byte[] Voxels { get; } = new byte[grid.VoxelCount];

    public MaskBuilder Set(int x, int y, int z = 0)
    {
        Voxels[Grid.Index(x, y, z)] = 1;
        return this;
    }

    public MaskBuilder Clear(int x, int y, int z = 0)
    {
        Voxels[Grid.Index(x, y, z)] = 0;
        return this;
    }

    /// <summary>Sets the box with inclusive bounds.</summary>
    public MaskBuilder Box(int x0, int x1, int y0, int y1, int z0 = 0, int z1 = 0)
    {
        for (int z = z0; z <= z1; z++)
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++)
                    Set(x, y, z);
        return this;
    }

    public static implicit operator byte[](MaskBuilder builder) => builder.Voxels;
}
