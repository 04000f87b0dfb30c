using GreenSeg.Common;

namespace GreenSeg.Transforms;

/// <summary>
/// Breadth-first flood fill with an explicit queue (no recursion, so a component of millions of voxels
/// cannot overflow the stack) on a grid whose outermost layer, along every axis the fill moves along,
/// is padding the fill never enters: neighbours are then plain index offsets with no bounds checks.
/// Every voxel is labelled when it is queued, so it is queued at most once.
/// </summary>
internal sealed class VoxelFlood
{
    private readonly int[] _offsets;
    private readonly int[] _queue;
    private int _head, _tail;

    private VoxelFlood(VoxelGrid grid, IEnumerable<(int Dx, int Dy, int Dz)> steps)
    {
        // Along an axis of extent 1 there is no neighbour (and no padding).
        _offsets = [.. steps
            .Where(s => (s.Dx == 0 || grid.SizeX > 1) && (s.Dy == 0 || grid.SizeY > 1) && (s.Dz == 0 || grid.SizeZ > 1))
            .Select(s => s.Dx + grid.SizeX * (s.Dy + grid.SizeY * s.Dz))];
        _queue = new int[grid.VoxelCount];
    }

    /// <summary>Face neighbours: 6 in 3D, or the 4 in-plane ones when <paramref name="acrossSlices"/> is false.</summary>
    public static VoxelFlood FaceConnected(VoxelGrid grid, bool acrossSlices = true) =>
        new(grid, Steps().Where(s => Math.Abs(s.Dx) + Math.Abs(s.Dy) + Math.Abs(s.Dz) == 1 && (acrossSlices || s.Dz == 0)));

    /// <summary>Face, edge and corner neighbours: 26 in 3D (8 on a single slice).</summary>
    public static VoxelFlood FullyConnected(VoxelGrid grid) => new(grid, Steps());

    /// <summary>Labels a start voxel of the next <see cref="Spread"/>.</summary>
    public void Seed(int index, int[] labels, int label)
    {
        labels[index] = label;
        _queue[_tail++] = index;
    }

    /// <summary>
    /// Spreads from the seeds to unlabelled neighbours whose mask value is foreground (nonzero) when
    /// <paramref name="foreground"/> is true, background otherwise; returns how many voxels got the label.
    /// The padding must be labelled already or hold the other kind of value, so the fill stops there.
    /// </summary>
    public int Spread(ReadOnlySpan<byte> mask, bool foreground, int[] labels, int label)
    {
        while (_head < _tail)
        {
            int index = _queue[_head++];
            foreach (int offset in _offsets)
            {
                int neighbour = index + offset;
                if (labels[neighbour] != 0 || (mask[neighbour] != 0) != foreground) continue;
                labels[neighbour] = label;
                _queue[_tail++] = neighbour;
            }
        }
        int labelled = _tail;
        _head = _tail = 0;
        return labelled;
    }

    private static IEnumerable<(int Dx, int Dy, int Dz)> Steps()
    {
        for (int dz = -1; dz <= 1; dz++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if (dx != 0 || dy != 0 || dz != 0) yield return (dx, dy, dz);
    }
}
