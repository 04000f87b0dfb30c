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

    /// <summary>1 where the canvas shows the slice, 0 on padding (outside the field of view), indexed x + TargetWidth * y.</summary>
    public byte[] FieldOfView()
    {
        var inside = new byte[TargetWidth * TargetHeight];
        int x0 = Math.Max(0, OffsetX), x1 = Math.Min(TargetWidth, OffsetX + ResampledWidth);
        int y0 = Math.Max(0, OffsetY), y1 = Math.Min(TargetHeight, OffsetY + ResampledHeight);
        for (int y = y0; y < y1; y++) inside.AsSpan(x0 + TargetWidth * y, Math.Max(0, x1 - x0)).Fill(1);
        return inside;
    }
    public int TargetLength => TargetWidth * TargetHeight;
}
