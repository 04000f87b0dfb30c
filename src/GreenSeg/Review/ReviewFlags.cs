using GreenSeg.Common;

namespace GreenSeg.Review;

/// <summary>What makes a mask worth a second look.</summary>
public enum ReviewFlag
{
    /// <summary>No brain voxel was predicted.</summary>
    EmptyMask,
    /// <summary>The brain volume is more than <see cref="ReviewOptions.OutlierRatio"/> times larger or smaller than the median of the other stacks.</summary>
    VolumeOutlier,
    /// <summary>The brain volume lies outside <see cref="ReviewOptions.PlausibleVolumeMl"/>, a wide band around fetal intracranial volumes.</summary>
    VolumeOutsideFetalRange,
    /// <summary>The thresholded mask had more than one connected component before post-processing kept the largest.</summary>
    SeveralComponents,
    /// <summary>The mask reaches the first or last row or column of a slice: the brain may be cut off, or the mask spills.</summary>
    TouchesFieldOfViewEdge,
}

/// <summary>Facts about one predicted mask that flags are decided from.</summary>
/// <param name="Components">
/// Large connected components (at least <see cref="Transforms.PostProcessingOptions.DefaultMinComponentShare"/> of the largest) before
/// post-processing when known, else of the mask as given: specks that post-processing removes do not count.
/// </param>
public sealed record MaskFacts(long Voxels, double VolumeMl, int Components, bool TouchesEdge)
{
    public bool Empty => Voxels == 0;

    /// <summary>Reads the facts off a mask; <paramref name="componentsBeforePostProcessing"/> replaces the count of the mask's own components.</summary>
    public static MaskFacts Of(ReadOnlySpan<byte> mask, VoxelGrid grid, int? componentsBeforePostProcessing = null)
    {
        grid.RequireLength(mask.Length, nameof(mask));
        long voxels = 0;
        bool touches = false;
        for (int z = 0; z < grid.SizeZ; z++)
            for (int y = 0; y < grid.SizeY; y++)
                for (int x = 0; x < grid.SizeX; x++)
                {
                    if (mask[grid.Index(x, y, z)] == 0) continue;
                    voxels++;
                    touches |= x == 0 || y == 0 || x == grid.SizeX - 1 || y == grid.SizeY - 1;
                }
        int components = componentsBeforePostProcessing ?? Transforms.PostProcessing.CountLargeComponents(mask, grid, Transforms.PostProcessingOptions.DefaultMinComponentShare);
        return new MaskFacts(voxels, voxels * grid.VoxelVolumeMl, components, touches);
    }
}

public static class ReviewFlags
{
    public static string Describe(ReviewFlag flag, ReviewOptions options) => flag switch
    {
        ReviewFlag.EmptyMask => "empty mask: no brain found",
        ReviewFlag.VolumeOutlier => FormattableString.Invariant($"volume more than {options.OutlierRatio:0.#}x away from the median of the other stacks"),
        ReviewFlag.VolumeOutsideFetalRange => FormattableString.Invariant($"volume outside {options.PlausibleVolumeMl.Min:0}-{options.PlausibleVolumeMl.Max:0} ml, the range of fetal intracranial volumes"),
        ReviewFlag.SeveralComponents => "more than one large component before post-processing (each at least a tenth of the largest: a false positive, or a brain split by motion)",
        ReviewFlag.TouchesFieldOfViewEdge => "mask touches the edge of the field of view",
        _ => throw new ArgumentOutOfRangeException(nameof(flag), flag, "unknown flag"),
    };

    /// <summary>Short names for tables and the page.</summary>
    public static string Label(ReviewFlag flag) => flag switch
    {
        ReviewFlag.EmptyMask => "empty",
        ReviewFlag.VolumeOutlier => "volume outlier",
        ReviewFlag.VolumeOutsideFetalRange => "implausible volume",
        ReviewFlag.SeveralComponents => "several large components",
        ReviewFlag.TouchesFieldOfViewEdge => "touches edge",
        _ => throw new ArgumentOutOfRangeException(nameof(flag), flag, "unknown flag"),
    };

    /// <summary>The flags of every mask, in input order; a volume outlier needs <see cref="ReviewOptions.MinStacksForOutliers"/> non-empty masks.</summary>
    public static IReadOnlyList<IReadOnlyList<ReviewFlag>> Assign(IReadOnlyList<MaskFacts?> masks, ReviewOptions options)
    {
        options.Validate();
        var volumes = masks.Select((m, i) => (Index: i, Mask: m)).Where(e => e.Mask is { Empty: false }).ToList();
        var flags = new List<IReadOnlyList<ReviewFlag>>(masks.Count);
        for (int i = 0; i < masks.Count; i++)
        {
            var list = new List<ReviewFlag>();
            if (masks[i] is { } mask)
            {
                if (mask.Empty) list.Add(ReviewFlag.EmptyMask);
                else
                {
                    if (volumes.Count >= options.MinStacksForOutliers)
                    {
                        double median = Median(volumes.Where(e => e.Index != i).Select(e => e.Mask!.VolumeMl));
                        if (mask.VolumeMl > options.OutlierRatio * median || mask.VolumeMl * options.OutlierRatio < median) list.Add(ReviewFlag.VolumeOutlier);
                    }
                    if (mask.VolumeMl < options.PlausibleVolumeMl.Min || mask.VolumeMl > options.PlausibleVolumeMl.Max) list.Add(ReviewFlag.VolumeOutsideFetalRange);
                }
                if (mask.Components > 1) list.Add(ReviewFlag.SeveralComponents);
                if (mask.TouchesEdge) list.Add(ReviewFlag.TouchesFieldOfViewEdge);
            }
            flags.Add(list);
        }
        return flags;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
