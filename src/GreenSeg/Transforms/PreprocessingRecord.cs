namespace GreenSeg.Transforms;

/// <summary>
/// The geometry of one slice's way into the network grid, enough to map a prediction back exactly.
/// The original slice (OriginalWidth x OriginalHeight at OriginalSpacing) was resampled to
/// ResampledWidth x ResampledHeight covering the same field of view, then placed on the target canvas
/// with its pixel (0, 0) at canvas (OffsetX, OffsetY): a positive offset is padding, a negative one
/// cropping. When the difference is odd the extra pixel of padding or cropping is at the far end.
/// </summary>
public sealed record PreprocessingRecord(
    int OriginalWidth,
    int OriginalHeight,
    double OriginalSpacingX,
    double OriginalSpacingY,
    int ResampledWidth,
    int ResampledHeight,
    int OffsetX,
    int OffsetY,
    int TargetWidth,
    int TargetHeight)
{
    public int OriginalLength => OriginalWidth * OriginalHeight;
    public int TargetLength => TargetWidth * TargetHeight;
}
