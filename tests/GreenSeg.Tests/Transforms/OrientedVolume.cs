using GreenSeg.Imaging;

namespace GreenSeg.Tests.Transforms;

/// <summary>
/// One small asymmetric reference volume (axes along world x, y, z, every voxel a distinct value) stored
/// in any of the 48 axis orders and directions, with the affine adjusted so every voxel keeps its world
/// position. Storage axis s runs along world axis <see cref="WorldAxes"/>[s], reversed where <see cref="Flipped"/>[s].
/// </summary>
internal sealed class OrientedVolume
{
    public static readonly int[] ReferenceSize = [5, 6, 7];
    public static readonly double[] ReferenceSpacing = [0.5, 0.75, 2.0];

    public int[] WorldAxes { get; }
    public bool[] Flipped { get; }
    public int[] Size { get; }
    public double[] Spacing { get; }
    public float[] Values { get; }
    public double[,] Affine { get; }

    /// <summary>The 48 storages: 6 axis orders times 8 sets of reversed axes, as (order, reversed-axes bit mask).</summary>
    public static IEnumerable<(int Order, int FlipMask)> AllStorages() =>
        Enumerable.Range(0, Orders.Length).SelectMany(order => Enumerable.Range(0, 8).Select(mask => (order, mask)));

    /// <param name="spacingScale">Multiplies <see cref="ReferenceSpacing"/> (a larger volume in mm, same voxels).</param>
    public OrientedVolume(int order, int flipMask, double spacingScale = 1)
        : this(Orders[order], [(flipMask & 1) != 0, (flipMask & 2) != 0, (flipMask & 4) != 0], spacingScale) { }

    public OrientedVolume(int[] worldAxes, bool[] flipped, double spacingScale = 1)
    {
        WorldAxes = worldAxes;
        Flipped = flipped;
        Size = worldAxes.Select(w => ReferenceSize[w]).ToArray();
        Spacing = worldAxes.Select(w => ReferenceSpacing[w] * spacingScale).ToArray();
        Affine = new double[4, 4];
        Affine[3, 3] = 1;
        for (int s = 0; s < 3; s++)
        {
            int w = worldAxes[s];
            Affine[w, s] = flipped[s] ? -Spacing[s] : Spacing[s];
            // Voxel 0 of a reversed axis sits at the far end of the reference's.
            if (flipped[s]) Affine[w, 3] = (ReferenceSize[w] - 1) * Spacing[s];
        }
        Values = new float[Size[0] * Size[1] * Size[2]];
        for (int k = 0; k < Size[2]; k++)
        for (int j = 0; j < Size[1]; j++)
        for (int i = 0; i < Size[0]; i++)
            Values[i + Size[0] * (j + Size[1] * k)] = ReferenceValue(ReferenceVoxel(i, j, k));
    }

    /// <summary>The world axis that slices of this storage (cut along storage k) are normal to.</summary>
    public int ThroughPlaneWorldAxis => WorldAxes[2];

    public float[] Slice(int k) => Values.AsSpan(k * Size[0] * Size[1], Size[0] * Size[1]).ToArray();

    /// <summary>The reference voxel (x, y, z) at storage voxel (i, j, k).</summary>
    public int[] ReferenceVoxel(int i, int j, int k)
    {
        int[] storage = [i, j, k];
        var voxel = new int[3];
        for (int s = 0; s < 3; s++)
        {
            int w = WorldAxes[s];
            voxel[w] = Flipped[s] ? ReferenceSize[w] - 1 - storage[s] : storage[s];
        }
        return voxel;
    }

    /// <summary>
    /// What the canonical rule must give for the reference slice at this position along a world axis,
    /// written out from the rule's words alone: the other two world axes in world order, each increasing.
    /// </summary>
    public static (float[] Values, int Width, int Height, double SpacingX, double SpacingY) CanonicalReferenceSlice(int throughAxis, int position)
    {
        int xAxis = throughAxis == 0 ? 1 : 0, yAxis = throughAxis == 2 ? 1 : 2;
        int width = ReferenceSize[xAxis], height = ReferenceSize[yAxis];
        var values = new float[width * height];
        for (int v = 0; v < height; v++)
        for (int u = 0; u < width; u++)
        {
            var voxel = new int[3];
            voxel[throughAxis] = position;
            voxel[xAxis] = u;
            voxel[yAxis] = v;
            values[u + width * v] = ReferenceValue(voxel);
        }
        return (values, width, height, ReferenceSpacing[xAxis], ReferenceSpacing[yAxis]);
    }

    /// <summary>This storage as a NIfTI image with its geometry in the sform (and pixdim).</summary>
    public NiftiImage ToNifti(ReadOnlySpan<float> values, NiftiDataType type)
    {
        var image = NiftiImage.Create(Size[0], Size[1], Size[2], Spacing[0], Spacing[1], Spacing[2], values, type);
        image.Header.SRowX = [Affine[0, 0], Affine[0, 1], Affine[0, 2], Affine[0, 3]];
        image.Header.SRowY = [Affine[1, 0], Affine[1, 1], Affine[1, 2], Affine[1, 3]];
        image.Header.SRowZ = [Affine[2, 0], Affine[2, 1], Affine[2, 2], Affine[2, 3]];
        // The qform would still say "identity"; only the sform describes this storage.
        image.Header.QFormCode = 0;
        return image;
    }

    /// <summary>1-based and distinct for every voxel, so a misplaced voxel cannot go unnoticed.</summary>
    private static float ReferenceValue(int[] voxel) =>
        1 + voxel[0] + ReferenceSize[0] * (voxel[1] + ReferenceSize[1] * voxel[2]);

    private static readonly int[][] Orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
}
