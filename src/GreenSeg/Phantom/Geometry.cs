using System.Numerics;

namespace GreenSeg.Phantom;

/// <summary>An orthonormal frame: the world directions of a body's local x, y and z axes.</summary>
internal readonly struct Frame
{
    public readonly Vector3 X, Y, Z;

    public Frame(Vector3 x, Vector3 y, Vector3 z)
    {
        X = x;
        Y = y;
        Z = z;
    }

    public static Frame Identity => new(Vector3.UnitX, Vector3.UnitY, Vector3.UnitZ);

    /// <summary>Rotations applied in order: about local z (in-plane angle), then about x, then about y (tilts).</summary>
    public static Frame FromAngles(double aboutZ, double aboutX, double aboutY)
    {
        Matrix4x4 m = Matrix4x4.CreateRotationY((float)aboutY) * Matrix4x4.CreateRotationX((float)aboutX)
            * Matrix4x4.CreateRotationZ((float)aboutZ);
        return new Frame(Vector3.TransformNormal(Vector3.UnitX, m), Vector3.TransformNormal(Vector3.UnitY, m),
            Vector3.TransformNormal(Vector3.UnitZ, m));
    }

    /// <summary>A frame whose x axis points along <paramref name="direction"/>, twisted by <paramref name="twist"/> radians about it.</summary>
    public static Frame AlongDirection(Vector3 direction, double twist)
    {
        Vector3 x = Vector3.Normalize(direction);
        Vector3 helper = MathF.Abs(x.Z) < 0.9f ? Vector3.UnitZ : Vector3.UnitX;
        Vector3 y0 = Vector3.Normalize(Vector3.Cross(helper, x));
        Vector3 z0 = Vector3.Cross(x, y0);
        float c = MathF.Cos((float)twist), s = MathF.Sin((float)twist);
        return new Frame(x, c * y0 + s * z0, c * z0 - s * y0);
    }

    /// <summary>Expresses a frame given in this frame's local coordinates in world coordinates.</summary>
    public Frame Compose(Frame local) => new(ToWorld(local.X), ToWorld(local.Y), ToWorld(local.Z));

    public Vector3 ToLocal(Vector3 worldOffset) =>
        new(Vector3.Dot(worldOffset, X), Vector3.Dot(worldOffset, Y), Vector3.Dot(worldOffset, Z));

    public Vector3 ToWorld(Vector3 local) => local.X * X + local.Y * Y + local.Z * Z;
}

/// <summary>A solid ellipsoid placed in the world.</summary>
internal readonly struct Ellipsoid
{
    public readonly Vector3 Center;
    public readonly Vector3 Radii;
    public readonly Frame Frame;

    public Ellipsoid(Vector3 center, Vector3 radii, Frame frame)
    {
        Center = center;
        Radii = radii;
        Frame = frame;
    }

    public Vector3 ToLocal(Vector3 p) => Frame.ToLocal(p - Center);

    public float Distance(Vector3 p) => Shapes.EllipsoidDistance(ToLocal(p), Radii);

    /// <summary>Half of the ellipsoid's exact extent along a world unit direction.</summary>
    public float HalfExtent(Vector3 direction)
    {
        float x = Vector3.Dot(Frame.X, direction) * Radii.X;
        float y = Vector3.Dot(Frame.Y, direction) * Radii.Y;
        float z = Vector3.Dot(Frame.Z, direction) * Radii.Z;
        return MathF.Sqrt(x * x + y * y + z * z);
    }
}

/// <summary>Signed distances (negative inside) and soft partial-volume weights.</summary>
internal static class Shapes
{
    /// <summary>
    /// Approximate signed distance to an axis-aligned ellipsoid at the origin (exact sign, distance
    /// accurate near the surface, which is all the layered rims need).
    /// </summary>
    public static float EllipsoidDistance(Vector3 q, Vector3 radii)
    {
        Vector3 scaled = q / radii;
        Vector3 scaled2 = q / (radii * radii);
        float k0 = scaled.Length();
        float k1 = scaled2.Length();
        if (k1 < 1e-6f) return -MathF.Min(radii.X, MathF.Min(radii.Y, radii.Z));
        return k0 * (k0 - 1f) / k1;
    }

    /// <summary>The same for an ellipse (an elliptical cylinder when used on x and y only).</summary>
    public static float EllipseDistance(float x, float y, float rx, float ry)
    {
        float sx = x / rx, sy = y / ry;
        float tx = x / (rx * rx), ty = y / (ry * ry);
        float k0 = MathF.Sqrt(sx * sx + sy * sy);
        float k1 = MathF.Sqrt(tx * tx + ty * ty);
        if (k1 < 1e-6f) return -MathF.Min(rx, ry);
        return k0 * (k0 - 1f) / k1;
    }

    /// <summary>Fraction of a voxel inside a surface at signed distance d, with an edge half-width in mm.</summary>
    public static float Coverage(float distance, float halfWidth) => Math.Clamp(0.5f - 0.5f * distance / halfWidth, 0f, 1f);

    public static float Blend(float under, float over, float alpha) => under + (over - under) * alpha;
}
