using System.Runtime.Intrinsics;
using System.Runtime.Serialization;
using GreenSeg.Common;

namespace GreenSeg.Transforms;

/// <summary>Which voxels count as touching when components are labelled.</summary>
public enum ComponentConnectivity
{
    /// <summary>Shared face: 6 neighbours in 3D, 4 on a slice.</summary>
    Faces = 6,

    /// <summary>
    /// Shared face, edge or corner: 26 neighbours in 3D, 8 on a slice (scikit-image's default). The
    /// default here: across thick slices a thin part of the brain may touch the next slice only by an edge.
    /// </summary>
    Full = 26,
}

/// <summary>How enclosed background is filled.</summary>
public enum HoleFilling
{
    None,

    /// <summary>
    /// Slice by slice (z): background not 4-connected to the slice's edge becomes foreground. Suits stacks
    /// of thick 2D slices, where a cavity is closed in-plane but open at the ends of the stack. Fills
    /// everything <see cref="Volume"/> fills (a cavity closed in 3D is closed in each of its slices) and more.
    /// </summary>
    PerSlice,

    /// <summary>In 3D: background not 6-connected to the volume's faces becomes foreground (scipy's binary_fill_holes).</summary>
    Volume,
}

/// <summary>Which connected components of the thresholded mask are kept.</summary>
public enum ComponentSelection
{
    /// <summary>Every component.</summary>
    [EnumMember(Value = "all")] All,
    /// <summary>Only the largest: one brain, no false positives elsewhere; but a brain split across slices by fetal motion keeps one piece.</summary>
    [EnumMember(Value = "largest")] Largest,
    /// <summary>
    /// Every component of at least <see cref="PostProcessingOptions.MinComponentShare"/> of the largest's voxels: small false
    /// positives go, the pieces of a brain that motion split across slices stay.
    /// </summary>
    [EnumMember(Value = "large")] Large,
}

/// <summary>What <see cref="PostProcessing.Apply"/> does, in order: select components, then fill holes.</summary>
public sealed record PostProcessingOptions(
    ComponentSelection Components = ComponentSelection.Largest,
    HoleFilling FillHoles = HoleFilling.PerSlice,
    ComponentConnectivity Connectivity = ComponentConnectivity.Full,
    double MinComponentShare = PostProcessingOptions.DefaultMinComponentShare)
{
    public const double DefaultMinComponentShare = 0.1;

    /// <summary>
    /// Largest 26-connected component, holes filled per slice: what `greenseg segment` applies for a model whose manifest
    /// names no post-processing (written before recipes carried one; training recipes keep the large components since 2026-12-04).
    /// </summary>
    public static PostProcessingOptions Default { get; } = new();

    public static PostProcessingOptions None { get; } = new(ComponentSelection.All, HoleFilling.None);

    public PostProcessingOptions Validate()
    {
        if (!Enum.IsDefined(Components)) throw new ArgumentOutOfRangeException(nameof(Components), Components, "unknown component selection");
        if (!Enum.IsDefined(FillHoles)) throw new ArgumentOutOfRangeException(nameof(FillHoles), FillHoles, "unknown hole filling");
        if (!Enum.IsDefined(Connectivity)) throw new ArgumentOutOfRangeException(nameof(Connectivity), Connectivity, "unknown connectivity");
        if (!(MinComponentShare is > 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(MinComponentShare), MinComponentShare, "must be in (0, 1]");
        return this;
    }
}

/// <summary>
/// Clean-up of predicted binary masks (0/1 bytes on a <see cref="VoxelGrid"/>; nonzero input counts as
/// foreground). Every operation returns a new array and leaves its input alone; all run in O(voxels).
/// </summary>
public static class PostProcessing
{
    public static byte[] Apply(ReadOnlySpan<byte> mask, VoxelGrid grid, PostProcessingOptions options)
    {
        var components = options.Components == ComponentSelection.All ? null : LabelComponents(mask, grid, options.Connectivity);
        return FillHoles(SelectComponents(mask, grid, components, options), grid, options.FillHoles);
    }

    /// <summary>
    /// As <see cref="Apply"/>, and how many large components (at least <see cref="PostProcessingOptions.MinComponentShare"/> of
    /// the largest) the mask had before: one labelling serves both. Specks that any selection removes are not counted; a
    /// second large piece is a brain split by motion or a false positive worth a look.
    /// </summary>
    public static (byte[] Mask, int LargeComponentsBefore) ApplyCounting(ReadOnlySpan<byte> mask, VoxelGrid grid, PostProcessingOptions options)
    {
        var components = LabelComponents(mask, grid, options.Connectivity);
        return (FillHoles(SelectComponents(mask, grid, components, options), grid, options.FillHoles), CountLarge(components, options.MinComponentShare));
    }

    private static byte[] SelectComponents(ReadOnlySpan<byte> mask, VoxelGrid grid, Components? components, PostProcessingOptions options) =>
        options.Components switch
        {
            ComponentSelection.All => Binarize(mask),
            ComponentSelection.Largest => KeepLargest(components, grid),
            ComponentSelection.Large => KeepLarge(components, grid, options.MinComponentShare),
            _ => throw new ArgumentOutOfRangeException(nameof(options), $"unknown component selection {options.Components}"),
        };

    private static byte[] FillHoles(byte[] mask, VoxelGrid grid, HoleFilling filling) => filling switch
    {
        HoleFilling.None => mask,
        HoleFilling.PerSlice => FillHolesPerSlice(mask, grid),
        HoleFilling.Volume => FillHolesVolume(mask, grid),
        _ => throw new ArgumentOutOfRangeException(nameof(filling), $"unknown hole filling {filling}"),
    };

    /// <summary>1 where the probability is strictly above the threshold (so 0.5 agrees with a two-class argmax); NaN gives 0.</summary>
    public static byte[] Threshold(ReadOnlySpan<float> probabilities, float threshold)
    {
        if (!(threshold is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must lie in 0..1, got {threshold}");
        var mask = new byte[probabilities.Length];
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // 32 voxels a step: each comparison gives all-ones or zero per lane (NaN compares false), narrowed to bytes in order.
            var limit = Vector256.Create(threshold);
            for (; i <= probabilities.Length - 32; i += 32)
            {
                var low = Vector256.Narrow(Above(probabilities, i, limit), Above(probabilities, i + 8, limit));
                var high = Vector256.Narrow(Above(probabilities, i + 16, limit), Above(probabilities, i + 24, limit));
                (Vector256.Narrow(low, high) & Vector256<sbyte>.One).AsByte().CopyTo(mask.AsSpan(i));
            }
        }
        for (; i < mask.Length; i++)
            mask[i] = probabilities[i] > threshold ? (byte)1 : (byte)0;
        return mask;
    }

    private static Vector256<int> Above(ReadOnlySpan<float> values, int start, Vector256<float> limit) =>
        Vector256.GreaterThan(Vector256.Create(values.Slice(start, 8)), limit).AsInt32();

    /// <summary>
    /// Keeps only the largest connected foreground component (ties: the one met first in x-fastest
    /// order). An empty mask stays empty.
    /// </summary>
    public static byte[] KeepLargestComponent(ReadOnlySpan<byte> mask, VoxelGrid grid, ComponentConnectivity connectivity = ComponentConnectivity.Full) =>
        KeepLargest(LabelComponents(mask, grid, connectivity), grid);

    /// <summary>Keeps every connected component of at least <paramref name="minShare"/> of the largest one's voxels.</summary>
    public static byte[] KeepLargeComponents(ReadOnlySpan<byte> mask, VoxelGrid grid, double minShare, ComponentConnectivity connectivity = ComponentConnectivity.Full) =>
        KeepLarge(LabelComponents(mask, grid, connectivity), grid, minShare);

    /// <summary>How many connected foreground components the mask has (0 when empty).</summary>
    public static int CountComponents(ReadOnlySpan<byte> mask, VoxelGrid grid, ComponentConnectivity connectivity = ComponentConnectivity.Full) =>
        LabelComponents(mask, grid, connectivity)?.Sizes.Count ?? 0;

    /// <summary>How many connected components of at least <paramref name="minShare"/> of the largest one's voxels the mask has (0 when empty).</summary>
    public static int CountLargeComponents(ReadOnlySpan<byte> mask, VoxelGrid grid, double minShare, ComponentConnectivity connectivity = ComponentConnectivity.Full) =>
        CountLarge(LabelComponents(mask, grid, connectivity), minShare);

    private static int CountLarge(Components? components, double minShare)
    {
        if (components is null) return 0;
        double least = minShare * components.Sizes.Max();
        return components.Sizes.Count(size => size >= least);
    }

    private static byte[] KeepLargest(Components? components, VoxelGrid grid)
    {
        if (components is null) return new byte[grid.VoxelCount];
        var sizes = components.Sizes;
        int largestLabel = 1;
        for (int label = 2; label <= sizes.Count; label++)
            if (sizes[label - 1] > sizes[largestLabel - 1]) largestLabel = label;
        return Keep(components, grid, label => label == largestLabel);
    }

    private static byte[] KeepLarge(Components? components, VoxelGrid grid, double minShare)
    {
        if (components is null) return new byte[grid.VoxelCount];
        var sizes = components.Sizes;
        double least = minShare * sizes.Max();
        return Keep(components, grid, label => sizes[label - 1] >= least);
    }

    /// <summary>The mask of the labelled components <paramref name="keep"/> accepts, on the whole grid.</summary>
    private static byte[] Keep(Components components, VoxelGrid grid, Func<int, bool> keep)
    {
        // Decided once per label (index 0, the background, stays 0), then looked up per voxel.
        var kept = new byte[components.Sizes.Count + 1];
        for (int label = 1; label < kept.Length; label++) kept[label] = keep(label) ? (byte)1 : (byte)0;
        var result = new byte[grid.VoxelCount];
        var labels = components.Labels;
        var boxMask = new byte[labels.Length];
        for (int i = 0; i < labels.Length; i++)
            boxMask[i] = kept[labels[i]];
        components.Box.Paste<byte>(boxMask, result, grid);
        return result;
    }

    /// <summary>A mask's components: labels 1, 2, ... on the foreground's box (0 is background), and each label's voxel count.</summary>
    private sealed record Components(VoxelBox Box, int[] Labels, List<int> Sizes);

    /// <summary>
    /// Labels the foreground's components 1, 2, ... in x-fastest order of their first voxel, on the foreground's box
    /// grown by one voxel of background (the fill needs no bounds checks there); null when the mask is empty.
    /// </summary>
    private static Components? LabelComponents(ReadOnlySpan<byte> mask, VoxelGrid grid, ComponentConnectivity connectivity)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        if (VoxelBox.Enclosing(grid, mask) is not VoxelBox tight) return null;
        var box = tight.Grown(grid.SizeX > 1, grid.SizeY > 1, grid.SizeZ > 1);
        VoxelGrid boxGrid = box.GridIn(grid);
        byte[] boxMask = box.Crop(mask, grid);
        var flood = connectivity switch
        {
            ComponentConnectivity.Faces => VoxelFlood.FaceConnected(boxGrid),
            ComponentConnectivity.Full => VoxelFlood.FullyConnected(boxGrid),
            _ => throw new ArgumentOutOfRangeException(nameof(connectivity), $"unknown connectivity {connectivity}"),
        };
        var labels = new int[boxMask.Length];
        var sizes = new List<int>();
        for (int i = 0; i < boxMask.Length; i++)
        {
            if (boxMask[i] == 0 || labels[i] != 0) continue;
            flood.Seed(i, labels, sizes.Count + 1);
            sizes.Add(flood.Spread(boxMask, foreground: true, labels, sizes.Count + 1));
        }
        return new Components(box, labels, sizes);
    }

    /// <summary>Fills background that is not 4-connected, within its own z-slice, to that slice's edge; slices in parallel.</summary>
    public static byte[] FillHolesPerSlice(ReadOnlySpan<byte> mask, VoxelGrid grid) => FillHolesPerSlice(mask.ToArray(), grid);

    /// <summary>The per-slice fill on an array the slices' tasks can share (no copy of the mask in the pipeline).</summary>
    private static byte[] FillHolesPerSlice(byte[] mask, VoxelGrid grid)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        if (grid.SizeZ == 1) return FillHoles(mask, grid, acrossSlices: false);
        var sliceGrid = new VoxelGrid(grid.SizeX, grid.SizeY, 1, grid.SpacingX, grid.SpacingY, grid.SpacingZ);
        int length = grid.SizeX * grid.SizeY;
        var result = new byte[mask.Length];
        Parallel.For(0, grid.SizeZ, z => FillHoles(mask.AsSpan(z * length, length), sliceGrid, acrossSlices: false).CopyTo(result, z * length));
        return result;
    }

    /// <summary>Fills background that is not 6-connected to the volume's faces (on a single slice: the per-slice fill).</summary>
    public static byte[] FillHolesVolume(ReadOnlySpan<byte> mask, VoxelGrid grid) => FillHoles(mask, grid, acrossSlices: true);

    /// <summary>
    /// Floods background from outside the image, then turns every unreached background voxel into
    /// foreground. The fill moves along x and y (and z when <paramref name="acrossSlices"/>), and only
    /// along axes of extent above 1: along an axis of extent 1 a voxel has no neighbours to be enclosed by.
    /// </summary>
    private static byte[] FillHoles(ReadOnlySpan<byte> mask, VoxelGrid grid, bool acrossSlices)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        byte[] result = Binarize(mask);
        bool alongX = grid.SizeX > 1, alongY = grid.SizeY > 1, alongZ = acrossSlices && grid.SizeZ > 1;
        if (!alongX && !alongY && !alongZ) return result;
        if (VoxelBox.Enclosing(grid, mask) is not VoxelBox tight) return result;

        // Background outside the foreground's box always reaches the border, so the fill runs on the box
        // grown by a layer of "outside" voxels. That layer is labelled but never queued (its neighbours
        // would lie past the array); the fill starts from the box's own border background.
        var box = tight.Grown(alongX, alongY, alongZ);
        VoxelGrid boxGrid = box.GridIn(grid);
        byte[] boxMask = box.Crop<byte>(result, grid);
        const int Outside = 1;
        var reached = new int[boxMask.Length];
        var flood = VoxelFlood.FaceConnected(boxGrid, acrossSlices);
        bool AtDepth(int x, int y, int z, int depth) =>
            (alongX && (x == depth || x == boxGrid.SizeX - 1 - depth))
            || (alongY && (y == depth || y == boxGrid.SizeY - 1 - depth))
            || (alongZ && (z == depth || z == boxGrid.SizeZ - 1 - depth));
        for (int z = 0; z < boxGrid.SizeZ; z++)
            for (int y = 0; y < boxGrid.SizeY; y++)
                for (int x = 0; x < boxGrid.SizeX; x++)
                {
                    int i = boxGrid.Index(x, y, z);
                    if (AtDepth(x, y, z, 0)) reached[i] = Outside;
                    else if (AtDepth(x, y, z, 1) && boxMask[i] == 0) flood.Seed(i, reached, Outside);
                }
        flood.Spread(boxMask, foreground: false, reached, Outside);
        for (int i = 0; i < boxMask.Length; i++)
            if (reached[i] == 0) boxMask[i] = 1;
        box.Paste<byte>(boxMask, result, grid);
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
