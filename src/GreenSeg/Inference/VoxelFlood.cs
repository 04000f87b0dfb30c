using GreenSeg.Common;

namespace GreenSeg.Inference;

/// <summary>
/// Breadth-first flood fill over a voxel grid with an explicit queue (no recursion, so a component of
/// millions of voxels cannot overflow the stack). Every voxel is labelled when it is queued, so a run
/// queues each voxel at most once.
/// </summary>
internal sealed class VoxelFlood
{
    private readonly VoxelGrid _grid;
    private readonly (int Dx, int Dy, int Dz, int Offset)[] _steps;
    private readonly int[] _queue;
    private int _head, _tail;

    private VoxelFlood(VoxelGrid grid, IEnumerable<(int Dx, int Dy, int Dz)> steps)
    {
        _grid = grid;
        _steps = [.. steps.Select(s => (s.Dx, s.Dy, s.Dz, s.Dx + grid.SizeX * (s.Dy + grid.SizeY * s.Dz)))];
        _queue = new int[grid.VoxelCount];
    }

    /// <summary>Face neighbours: 6 in 3D, or the 4 in-plane ones when <paramref name="acrossSlices"/> is false.</summary>
    public static VoxelFlood FaceConnected(VoxelGrid grid, bool acrossSlices = true) =>
        new(grid, Offsets().Where(s => Math.Abs(s.Dx) + Math.Abs(s.Dy) + Math.Abs(s.Dz) == 1 && (acrossSlices || s.Dz == 0)));

    /// <summary>Face, edge and corner neighbours: 26 in 3D (8 on a single slice).</summary>
    public static VoxelFlood FullyConnected(VoxelGrid grid) => new(grid, Offsets());

    /// <summary>Labels a start voxel of the next <see cref="Spread"/>.</summary>
    public void Seed(int index, int[] labels, int label)
    {
        labels[index] = label;
        _queue[_tail++] = index;
    }

    /// <summary>
    /// Spreads from the seeds to unlabelled neighbours whose mask value is foreground (nonzero) when
    /// <paramref name="foreground"/> is true, background otherwise; returns how many voxels got the label.
    /// </summary>
    public int Spread(ReadOnlySpan<byte> mask, bool foreground, int[] labels, int label)
    {
        int sizeX = _grid.SizeX, sizeY = _grid.SizeY, sizeZ = _grid.SizeZ;
        while (_head < _tail)
        {
            int index = _queue[_head++];
            int x = index % sizeX, rest = index / sizeX, y = rest % sizeY, z = rest / sizeY;
            foreach (var (dx, dy, dz, offset) in _steps)
            {
                int nx = x + dx, ny = y + dy, nz = z + dz;
                if ((uint)nx >= (uint)sizeX || (uint)ny >= (uint)sizeY || (uint)nz >= (uint)sizeZ) continue;
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

    private static IEnumerable<(int Dx, int Dy, int Dz)> Offsets()
    {
        for (int dz = -1; dz <= 1; dz++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if (dx != 0 || dy != 0 || dz != 0) yield return (dx, dy, dz);
    }
}
