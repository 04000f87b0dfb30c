namespace GreenSeg.Data;

/// <summary>A 2D slice as stored: physical intensities, its binary mask (when known) and in-plane voxel size.</summary>
public sealed record RawSlice(float[] Image, byte[]? Mask, int Width, int Height, double SpacingX, double SpacingY);

/// <summary>
/// A slice after deterministic preprocessing: fixed size, normalised image, 0/1 mask, and (when synthetic
/// contrast is on) the image's intensity classes (<see cref="Transforms.IntensityClasses"/>).
/// </summary>
public sealed record PreparedSample(float[] Image, byte[] Mask, int Size, byte[]? Classes = null);

/// <summary>A training batch in host memory: N images then N masks, each Size x Size, row major.</summary>
public sealed record HostBatch(float[] Images, float[] Masks, int Count, int Size);
