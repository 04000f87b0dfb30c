using GreenSeg.Common;

namespace GreenSeg.Inference;

/// <summary>Which voxels count as touching when components are labelled.</summary>
public enum ComponentConnectivity
{
    /// <summary>Shared face: 6 neighbours in 3D, 4 on a slice.</summary>
    Faces = 6,

    /// <summary>Shared face, edge or corner: 26 neighbours in 3D, 8 on a slice.</summary>
    Full = 26,
}

/// <summary>How enclosed background is filled.</summary>
public enum HoleFilling
{
    None,

    /// <summary>
    /// Slice by slice (z): background not 4-connected to the slice's edge becomes foreground. Suits stacks
    /// of thick 2D slices, where a cavity is closed in-plane but open at the ends of the stack.
    /// </summary>
    PerSlice,

    /// <summary>In 3D: background not 6-connected to the volume's faces becomes foreground.</summary>
    Volume,
}

/// <summary>What <see cref="PostProcessing.Apply"/> does, in order: keep the largest component, then fill holes.</summary>
public sealed record PostProcessingOptions(
    bool KeepLargestComponent = true,
    HoleFilling FillHoles = HoleFilling.PerSlice,
    ComponentConnectivity Connectivity = ComponentConnectivity.Full)
{
    /// <summary>The default of `greenseg segment`: largest 26-connected component, holes filled per slice.</summary>
    public static PostProcessingOptions Default { get; } = new();

    public static PostProcessingOptions None { get; } = new(false, HoleFilling.None);
}

/// <summary>
/// Clean-up of predicted binary masks (0/1 bytes on a <see cref="VoxelGrid"/>; nonzero input counts as
/// foreground). Every operation returns a new array and leaves its input alone; all run in O(voxels).
/// </summary>
public static class PostProcessing
{
    public static byte[] Apply(ReadOnlySpan<byte> mask, VoxelGrid grid, PostProcessingOptions options)
    {
        byte[] result = options.KeepLargestComponent ? KeepLargestComponent(mask, grid, options.Connectivity) : Binarize(mask);
        return options.FillHoles switch
        {
            HoleFilling.None => result,
            HoleFilling.PerSlice => FillHolesPerSlice(result, grid),
            HoleFilling.Volume => FillHolesVolume(result, grid),
            _ => throw new ArgumentOutOfRangeException(nameof(options), $"unknown hole filling {options.FillHoles}"),
        };
    }

    /// <summary>1 where the probability is strictly above the threshold (so 0.5 agrees with a two-class argmax); NaN gives 0.</summary>
    public static byte[] Threshold(ReadOnlySpan<float> probabilities, float threshold)
    {
        if (!(threshold is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must lie in 0..1, got {threshold}");
        var mask = new byte[probabilities.Length];
        for (int i = 0; i < mask.Length; i++)
            mask[i] = probabilities[i] > threshold ? (byte)1 : (byte)0;
        return mask;
    }

    /// <summary>
    /// Keeps only the largest connected foreground component (ties: the one met first in x-fastest
    /// order). An empty mask stays empty.
    /// </summary>
    public static byte[] KeepLargestComponent(ReadOnlySpan<byte> mask, VoxelGrid grid, ComponentConnectivity connectivity = ComponentConnectivity.Full)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        var flood = connectivity switch
        {
            ComponentConnectivity.Faces => VoxelFlood.FaceConnected(grid),
            ComponentConnectivity.Full => VoxelFlood.FullyConnected(grid),
            _ => throw new ArgumentOutOfRangeException(nameof(connectivity), $"unknown connectivity {connectivity}"),
        };
        var labels = new int[mask.Length];
        int nextLabel = 0, largestLabel = 0, largestSize = 0;
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0 || labels[i] != 0) continue;
            flood.Seed(i, labels, ++nextLabel);
            int size = flood.Spread(mask, foreground: true, labels, nextLabel);
            if (size > largestSize) (largestSize, largestLabel) = (size, nextLabel);
        }
        var result = new byte[mask.Length];
        if (largestLabel == 0) return result;
        for (int i = 0; i < result.Length; i++)
            if (labels[i] == largestLabel) result[i] = 1;
        return result;
    }

    /// <summary>Fills background that is not 4-connected, within its own z-slice, to that slice's edge.</summary>
    public static byte[] FillHolesPerSlice(ReadOnlySpan<byte> mask, VoxelGrid grid) => FillHoles(mask, grid, acrossSlices: false);

    /// <summary>Fills background that is not 6-connected to the volume's faces (on a single slice: the per-slice fill).</summary>
    public static byte[] FillHolesVolume(ReadOnlySpan<byte> mask, VoxelGrid grid) => FillHoles(mask, grid, acrossSlices: true);

    /// <summary>
    /// Floods background from the border, then turns every unreached background voxel into foreground.
    /// The border is the first and last voxel along each axis of extent above 1 that the fill moves along;
    /// along an axis of extent 1 a voxel has no neighbours, so it cannot be enclosed along it.
    /// </summary>
    private static byte[] FillHoles(ReadOnlySpan<byte> mask, VoxelGrid grid, bool acrossSlices)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        bool borderX = grid.SizeX > 1, borderY = grid.SizeY > 1, borderZ = acrossSlices && grid.SizeZ > 1;
        byte[] result = Binarize(mask);
        if (!borderX && !borderY && !borderZ) return result;

        const int Outside = 1;
        var reached = new int[mask.Length];
        var flood = VoxelFlood.FaceConnected(grid, acrossSlices);
        for (int z = 0; z < grid.SizeZ; z++)
            for (int y = 0; y < grid.SizeY; y++)
                for (int x = 0; x < grid.SizeX; x++)
                {
                    bool onBorder = (borderX && (x == 0 || x == grid.SizeX - 1))
                        || (borderY && (y == 0 || y == grid.SizeY - 1))
                        || (borderZ && (z == 0 || z == grid.SizeZ - 1));
                    int i = grid.Index(x, y, z);
                    if (onBorder && mask[i] == 0 && reached[i] == 0) flood.Seed(i, reached, Outside);
                }
        flood.Spread(mask, foreground: false, reached, Outside);
        for (int i = 0; i < result.Length; i++)
            if (reached[i] == 0) result[i] = 1;
        return result;
    }

    private static byte[] Binarize(ReadOnlySpan<byte> mask)
    {
        var result = new byte[mask.Length];
        for (int i = 0; i < result.Length; i++)
            if (mask[i] != 0) result[i] = 1;
        return result;
    }
}
