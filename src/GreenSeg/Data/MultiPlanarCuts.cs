using GreenSeg.Common;
using GreenSeg.Transforms;

namespace GreenSeg.Data;

/// <summary>The voxel axis of a reassembled stack that a cut holds fixed.</summary>
public enum CutAxis
{
    /// <summary>The plane x = index: its width runs along the stack's y, its height through the slices.</summary>
    X,
    /// <summary>The plane y = index: its width runs along the stack's x, its height through the slices.</summary>
    Y,
    /// <summary>The plane z = index: a stored slice.</summary>
    Z,
}

/// <summary>A plane cut across a reassembled stack (the pixels are cut once, when the slices are listed).</summary>
public sealed record StackCut(string StackId, CutAxis Axis, RawSlice Plane);

/// <summary>
/// Multi-planar training slices: each stack's slices are reassembled into its volume
/// (<see cref="StackVolume"/>) and also cut along its two other axes, so a 2D network sees brains cut in
/// every plane, as real stacks come (axial, coronal, sagittal). Cut planes have the slice thickness as
/// their pixel height and are resampled like any slice by the preprocessing; their in-plane orientation
/// comes from the same affine, so <see cref="InPlaneOrientation"/> treats them as it treats stored slices.
/// </summary>
public static class MultiPlanarCuts
{
    /// <summary>A stack thinner than this (slices x thickness) cuts into planes too short to show a brain; it gets no cuts.</summary>
    public const double MinimumThroughPlaneMm = 48;
    /// <summary>The cuts cover the brain's extent along the axis widened by this fraction on each side, so some planes show little or no brain.</summary>
    public const double ExtentMargin = 0.25;

    /// <summary>
    /// The stacks with cut planes added after their stored slices: per stack, <paramref name="share"/> cut planes
    /// per stored slice, half across x and half across y, evenly spaced over the (widened) extent of its mask.
    /// A share of 0 returns the stacks as they are.
    /// </summary>
    public static IReadOnlyList<TrainingStack> Add(IReadOnlyList<TrainingStack> stacks, double share)
    {
        if (!(share >= 0) || !double.IsFinite(share)) throw new GreenSegException($"multi-planar share must be a finite number >= 0, got {share}");
        return share == 0 ? stacks : stacks.Select(stack => WithCuts(stack, share)).ToList();
    }

    /// <summary>How many of these slices are cut planes rather than stored slices.</summary>
    public static int CountCuts(IEnumerable<TrainingStack> stacks) => stacks.Sum(s => s.Slices.Count(slice => slice.Cut is not null));

    private static TrainingStack WithCuts(TrainingStack stack, double share)
    {
        int perAxis = (int)Math.Round(share * stack.Slices.Count / 2, MidpointRounding.AwayFromZero);
        if (perAxis == 0 || stack.Slices.Count == 0) return stack;
        var assembled = StackVolume.Assemble(stack);
        var image = assembled.Image;
        if (image.SizeZ * image.SpacingZ < MinimumThroughPlaneMm) return stack;
        var affine = image.Header.Affine();
        float[] voxels = image.Scaled();
        var first = stack.Slices[0];
        var slices = new List<SliceRef>(stack.Slices);
        foreach (var axis in new[] { CutAxis.X, CutAxis.Y })
        {
            if (MaskExtent(assembled.MaskVoxels, image.SizeX, image.SizeY, image.SizeZ, axis) is not var (from, to)) continue;
            int length = axis == CutAxis.X ? image.SizeX : image.SizeY;
            double margin = ExtentMargin * (to - from + 1);
            int low = Math.Max(0, (int)Math.Floor(from - margin)), high = Math.Min(length - 1, (int)Math.Ceiling(to + margin));
            var orientation = InPlaneOrientation.FromAffine(new VolumePlanes(axis, image.SizeX, image.SizeY, image.SizeZ).PlaneAffine(affine));
            foreach (int index in EvenlySpaced(low, high, perAxis))
                slices.Add(new SliceRef(first.ImagePath, first.MaskPath, index, new StackCut(stack.Id, axis, Cut(assembled, voxels, axis, index, orientation))));
        }
        return stack with { Slices = slices };
    }

    /// <summary>The plane at <paramref name="index"/> across <paramref name="axis"/>: rows are slices (z), columns the other in-plane axis.</summary>
    public static RawSlice Cut(AssembledStack stack, CutAxis axis, int index, InPlaneOrientation orientation = default) =>
        Cut(stack, stack.Image.Scaled(), axis, index, orientation);

    private static RawSlice Cut(AssembledStack stack, float[] voxels, CutAxis axis, int index, InPlaneOrientation orientation)
    {
        var volume = stack.Image;
        var planes = new VolumePlanes(axis, volume.SizeX, volume.SizeY, volume.SizeZ);
        var image = new float[planes.PixelCount];
        var mask = new byte[planes.PixelCount];
        planes.Read<float>(voxels, index, image);
        planes.Read<byte>(stack.MaskVoxels, index, mask);
        var (spacingU, spacingV) = planes.Spacing(volume.SpacingX, volume.SpacingY, volume.SpacingZ);
        return new RawSlice(image, mask, planes.Width, planes.Height, spacingU, spacingV, orientation);
    }

    /// <summary>First and last index along <paramref name="axis"/> where the mask has a voxel; null for an empty mask.</summary>
    private static (int From, int To)? MaskExtent(byte[] mask, int sizeX, int sizeY, int depth, CutAxis axis)
    {
        int from = int.MaxValue, to = -1;
        for (int z = 0; z < depth; z++)
            for (int y = 0; y < sizeY; y++)
                for (int x = 0; x < sizeX; x++)
                {
                    if (mask[x + sizeX * (y + sizeY * z)] == 0) continue;
                    int at = axis == CutAxis.X ? x : y;
                    from = Math.Min(from, at);
                    to = Math.Max(to, at);
                }
        return to < 0 ? null : (from, to);
    }

    /// <summary><paramref name="count"/> distinct indices spread evenly over [low, high] (fewer when the range is shorter).</summary>
    public static IEnumerable<int> EvenlySpaced(int low, int high, int count)
    {
        int available = high - low + 1;
        if (count >= available) return Enumerable.Range(low, available);
        // Centres of count equal parts of the range: symmetric, never the same index twice when count < available.
        return Enumerable.Range(0, count).Select(i => low + (int)Math.Floor((i + 0.5) * available / count));
    }
}
