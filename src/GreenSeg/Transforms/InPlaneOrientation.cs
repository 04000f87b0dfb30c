namespace GreenSeg.Transforms;

/// <summary>
/// A lossless 2D reorientation (transpose, then flips) that brings the slices of a stack into one
/// canonical in-plane orientation whatever order and direction the file stores its axes in, so a 2D
/// network sees the same anatomy the same way up. Slices are indexed x + width * y (x = storage axis i,
/// y = storage axis j, k through-plane). Only indices move, so <see cref="Invert{T}(ReadOnlySpan{T}, int, int)"/>
/// undoes <see cref="Apply{T}(ReadOnlySpan{T}, int, int)"/> bit for bit.
/// </summary>
/// <param name="Transpose">Canonical x is storage y (and canonical y is storage x).</param>
/// <param name="FlipX">After the transpose, canonical x is reversed.</param>
/// <param name="FlipY">After the transpose, canonical y is reversed.</param>
public readonly record struct InPlaneOrientation(bool Transpose, bool FlipX, bool FlipY)
{
    /// <summary>Slices stay as stored (also the default value).</summary>
    public static InPlaneOrientation Identity => default;

    /// <summary>Nothing moves: callers can skip the copy.</summary>
    public bool IsIdentity => !Transpose && !FlipX && !FlipY;

    /// <summary>
    /// The orientation for slices of an image with this voxel-to-world affine (4x4, as
    /// <see cref="Imaging.NiftiHeader.Affine"/>). The rule: the slice normal is the cross product of the
    /// i and j columns (so the through-plane column and the sign of qfac play no part), and the world
    /// axis (x, y, z) with its largest component is the through-plane axis. The other two world axes, in
    /// world order (x before y before z), become canonical x then canonical y, and each canonical axis
    /// runs in the + direction of its world axis. Which of i and j goes to which world axis is decided by
    /// their dominant components (of the two pairings, the one with the larger sum of direction cosines),
    /// so oblique stacks snap to the nearest axes. An affine whose i and j columns span no plane (a zero
    /// column, parallel columns, NaN) says nothing about orientation: identity.
    /// </summary>
    public static InPlaneOrientation FromAffine(double[,] affine)
    {
        ArgumentNullException.ThrowIfNull(affine);
        if (affine.GetLength(0) < 3 || affine.GetLength(1) < 3)
            throw new ArgumentException($"affine must be at least 3x3, got {affine.GetLength(0)}x{affine.GetLength(1)}", nameof(affine));
        double[] columnI = UnitColumn(affine, 0), columnJ = UnitColumn(affine, 1);
        double[] normal =
        [
            columnI[1] * columnJ[2] - columnI[2] * columnJ[1],
            columnI[2] * columnJ[0] - columnI[0] * columnJ[2],
            columnI[0] * columnJ[1] - columnI[1] * columnJ[0],
        ];
        // A zero column has no direction (its unit vector is NaN), and neither has the plane of parallel columns.
        if (!normal.All(double.IsFinite) || normal.All(c => c == 0)) return Identity;

        int through = DominantAxis(normal);
        // The two in-plane world axes in world order: canonical x, then canonical y.
        int canonicalX = through == 0 ? 1 : 0, canonicalY = through == 2 ? 1 : 2;
        double straight = Math.Abs(columnI[canonicalX]) + Math.Abs(columnJ[canonicalY]);
        double crossed = Math.Abs(columnJ[canonicalX]) + Math.Abs(columnI[canonicalY]);
        bool transpose = crossed > straight;
        double[] alongX = transpose ? columnJ : columnI, alongY = transpose ? columnI : columnJ;
        return new InPlaneOrientation(transpose, alongX[canonicalX] < 0, alongY[canonicalY] < 0);
    }

    /// <summary>Width and height of the canonical slice of a width x height slice.</summary>
    public (int Width, int Height) Size(int width, int height) => Transpose ? (height, width) : (width, height);

    /// <summary>Pixel spacing (mm) of the canonical slice: swapped with the axes when transposed.</summary>
    public (double X, double Y) Spacing(double spacingX, double spacingY) => Transpose ? (spacingY, spacingX) : (spacingX, spacingY);

    /// <summary>The canonical slice of a width x height slice (size from <see cref="Size"/>); works for images, masks and labels alike.</summary>
    public T[] Apply<T>(ReadOnlySpan<T> slice, int width, int height)
    {
        var canonical = new T[slice.Length];
        Apply(slice, width, height, canonical);
        return canonical;
    }

    /// <summary>Writes the canonical slice of a width x height slice into destination (same length).</summary>
    public void Apply<T>(ReadOnlySpan<T> slice, int width, int height, Span<T> destination)
    {
        CheckLengths(slice.Length, destination.Length, width, height);
        var (canonicalWidth, canonicalHeight) = Size(width, height);
        for (int v = 0; v < canonicalHeight; v++)
        for (int u = 0; u < canonicalWidth; u++)
            destination[u + canonicalWidth * v] = slice[StoredIndex(u, v, width, canonicalWidth, canonicalHeight)];
    }

    /// <summary>The stored slice (width x height, the stored size) that a canonical slice came from; exact for any values.</summary>
    public T[] Invert<T>(ReadOnlySpan<T> canonical, int width, int height)
    {
        var stored = new T[canonical.Length];
        Invert(canonical, width, height, stored);
        return stored;
    }

    /// <summary>Writes the stored slice (width x height, the stored size) of a canonical slice into destination.</summary>
    public void Invert<T>(ReadOnlySpan<T> canonical, int width, int height, Span<T> destination)
    {
        CheckLengths(canonical.Length, destination.Length, width, height);
        var (canonicalWidth, canonicalHeight) = Size(width, height);
        for (int v = 0; v < canonicalHeight; v++)
        for (int u = 0; u < canonicalWidth; u++)
            destination[StoredIndex(u, v, width, canonicalWidth, canonicalHeight)] = canonical[u + canonicalWidth * v];
    }

    /// <summary>Index in the stored slice of canonical pixel (u, v): undo the flips, then the transpose.</summary>
    private int StoredIndex(int u, int v, int width, int canonicalWidth, int canonicalHeight)
    {
        int x = FlipX ? canonicalWidth - 1 - u : u;
        int y = FlipY ? canonicalHeight - 1 - v : v;
        return Transpose ? y + width * x : x + width * y;
    }

    /// <summary>A column's direction; unit length, so the voxel sizes of i and j do not weigh in their pairing.</summary>
    private static double[] UnitColumn(double[,] affine, int column)
    {
        double[] direction = [affine[0, column], affine[1, column], affine[2, column]];
        double length = Math.Sqrt(direction.Sum(c => c * c));
        return direction.Select(c => c / length).ToArray();
    }

    private static int DominantAxis(double[] vector)
    {
        int best = 0;
        for (int axis = 1; axis < vector.Length; axis++)
            if (Math.Abs(vector[axis]) > Math.Abs(vector[best])) best = axis;
        return best;
    }

    private static void CheckLengths(int source, int destination, int width, int height)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height}", "slice size must be positive");
        if (source != width * height || destination != source)
            throw new ArgumentException($"a {width}x{height} slice needs {width * height} values in and out, got {source} and {destination}");
    }
}
