using GreenSeg.Common;

namespace GreenSeg.Evaluation;

/// <summary>
/// The surface of a binary mask: the foreground voxels that have at least one face neighbour
/// (6-connectivity in 3D, 4-connectivity on a 2D slice) outside the mask. Outside the image counts as
/// background, so foreground on the image border is surface. This is the mask minus its erosion by the
/// cross-shaped structuring element with a background border, the surface MedPy and MONAI use
/// (scipy binary_erosion with generate_binary_structure(ndim, 1)). Axes of extent 1 have no
/// neighbours: a single slice (SizeZ == 1) is treated as 2D, not as a one-voxel-thick 3D slab.
/// </summary>
public static class MaskSurface
{
    /// <summary>Surface voxels of the mask (nonzero = foreground).</summary>
    public static bool[] Extract(ReadOnlySpan<byte> mask, VoxelGrid grid)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        var surface = new bool[mask.Length];
        bool useX = grid.SizeX > 1, useY = grid.SizeY > 1, useZ = grid.SizeZ > 1;
        int strideY = grid.SizeX, strideZ = grid.SizeX * grid.SizeY;
        for (int z = 0; z < grid.SizeZ; z++)
            for (int y = 0; y < grid.SizeY; y++)
            {
                int row = grid.Index(0, y, z);
                for (int x = 0; x < grid.SizeX; x++)
                {
                    int i = row + x;
                    if (mask[i] == 0) continue;
                    surface[i] =
                        (useX && (x == 0 || mask[i - 1] == 0 || x == grid.SizeX - 1 || mask[i + 1] == 0)) ||
                        (useY && (y == 0 || mask[i - strideY] == 0 || y == grid.SizeY - 1 || mask[i + strideY] == 0)) ||
                        (useZ && (z == 0 || mask[i - strideZ] == 0 || z == grid.SizeZ - 1 || mask[i + strideZ] == 0)) ||
                        (!useX && !useY && !useZ); // a one-voxel image: its only voxel is its surface
                }
            }
        return surface;
    }
}
