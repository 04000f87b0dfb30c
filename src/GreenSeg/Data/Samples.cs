using GreenSeg.Transforms;

namespace GreenSeg.Data;

/// <summary>
/// A 2D slice as stored: physical intensities, its binary mask (when known), in-plane voxel size, and the
/// reorientation that brings it to the canonical in-plane orientation (from its image's affine; identity when unknown).
/// </summary>
public sealed record RawSlice(float[] Image, byte[]? Mask, int Width, int Height, double SpacingX, double SpacingY,
    InPlaneOrientation Orientation = default)
{
    /// <summary>The slice (image, mask, size and spacing) turned by <see cref="Orientation"/>; its own orientation is then the identity.</summary>
    public RawSlice InCanonicalOrientation()
    {
        if (Orientation.IsIdentity) return this;
        var (width, height) = Orientation.Size(Width, Height);
        var (spacingX, spacingY) = Orientation.Spacing(SpacingX, SpacingY);
        return new RawSlice(Orientation.Apply<float>(Image, Width, Height), Mask is null ? null : Orientation.Apply<byte>(Mask, Width, Height),
            width, height, spacingX, spacingY);
    }
}

/// <summary>
/// A slice after deterministic preprocessing: fixed size, normalised image, 0/1 mask, and (when synthetic
/// contrast is on) the image's intensity classes (<see cref="Transforms.IntensityClasses"/>).
/// </summary>
public sealed record PreparedSample(float[] Image, byte[] Mask, int Size, byte[]? Classes = null);

/// <summary>A training batch in host memory: N images then N masks, each Size x Size, row major.</summary>
public sealed record HostBatch(float[] Images, float[] Masks, int Count, int Size);
