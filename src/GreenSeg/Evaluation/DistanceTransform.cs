using GreenSeg.Common;

namespace GreenSeg.Evaluation;

/// <summary>
/// Exact Euclidean distance transform with anisotropic voxel spacing, computed separably
/// (Felzenszwalb &amp; Huttenlocher, "Distance transforms of sampled functions", 2012): one pass of the
/// 1D lower envelope of parabolas per axis, O(voxels) in total. Distances run between voxel centres.
/// </summary>
public static class DistanceTransform
{
    /// <summary>
    /// For every voxel, the squared distance in mm² to the nearest feature voxel (0 on features);
    /// +∞ everywhere when there is no feature.
    /// </summary>
    public static double[] SquaredEuclidean(ReadOnlySpan<bool> features, VoxelGrid grid)
    {
        grid.RequireLength(features.Length, nameof(features));
        var distances = new double[grid.VoxelCount];
        for (int i = 0; i < distances.Length; i++)
            distances[i] = features[i] ? 0 : double.PositiveInfinity;

        var envelope = new LowerEnvelope(Math.Max(grid.SizeX, Math.Max(grid.SizeY, grid.SizeZ)));
        int strideY = grid.SizeX, strideZ = grid.SizeX * grid.SizeY;

        // Along x: one line per (y, z).
        for (int z = 0; z < grid.SizeZ; z++)
            for (int y = 0; y < grid.SizeY; y++)
                envelope.Transform(distances, grid.Index(0, y, z), 1, grid.SizeX, grid.SpacingX);
        // Along y: one line per (x, z).
        for (int z = 0; z < grid.SizeZ; z++)
            for (int x = 0; x < grid.SizeX; x++)
                envelope.Transform(distances, grid.Index(x, 0, z), strideY, grid.SizeY, grid.SpacingY);
        // Along z: one line per (x, y).
        for (int y = 0; y < grid.SizeY; y++)
            for (int x = 0; x < grid.SizeX; x++)
                envelope.Transform(distances, grid.Index(x, y, 0), strideZ, grid.SizeZ, grid.SpacingZ);
        return distances;
    }

    /// <summary>Scratch buffers for the 1D transform, reused across lines.</summary>
    private sealed class LowerEnvelope(int maxLength)
    {
        private readonly double[] _line = new double[maxLength];
        private readonly int[] _parabolaSites = new int[maxLength];
        private readonly double[] _boundaries = new double[maxLength + 1];

        /// <summary>
        /// In place on values[start + i*stride], i &lt; length: d(q) = min over p of f(p) + (spacing·(q−p))².
        /// Infinite samples carry no parabola; a line without any finite sample stays infinite.
        /// </summary>
        public void Transform(double[] values, int start, int stride, int length, double spacing)
        {
            if (length == 1) return;
            double spacing2 = spacing * spacing;
            var f = _line;
            for (int i = 0; i < length; i++) f[i] = values[start + i * stride];

            int k = -1;
            for (int q = 0; q < length; q++)
            {
                if (double.IsPositiveInfinity(f[q])) continue;
                if (k < 0)
                {
                    k = 0;
                    _parabolaSites[0] = q;
                    _boundaries[0] = double.NegativeInfinity;
                    _boundaries[1] = double.PositiveInfinity;
                    continue;
                }
                double s = Intersection(f, q, _parabolaSites[k], spacing2);
                // The first boundary is −∞, so k never drops below 0.
                while (s <= _boundaries[k])
                {
                    k--;
                    s = Intersection(f, q, _parabolaSites[k], spacing2);
                }
                k++;
                _parabolaSites[k] = q;
                _boundaries[k] = s;
                _boundaries[k + 1] = double.PositiveInfinity;
            }
            if (k < 0) return;

            k = 0;
            for (int q = 0; q < length; q++)
            {
                while (_boundaries[k + 1] < q) k++;
                int site = _parabolaSites[k];
                double offset = q - site;
                values[start + q * stride] = spacing2 * offset * offset + f[site];
            }
        }

        /// <summary>Abscissa (in voxel units) where the parabolas rooted at q and p meet (q &gt; p).</summary>
        private static double Intersection(double[] f, int q, int p, double spacing2) =>
            ((f[q] + spacing2 * q * q) - (f[p] + spacing2 * p * p)) / (2.0 * spacing2 * (q - p));
    }
}
