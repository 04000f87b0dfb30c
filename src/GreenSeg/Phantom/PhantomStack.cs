using GreenSeg.Imaging;

namespace GreenSeg.Phantom;

/// <summary>Which stack to make: its sequence, volume number and whether it is a test stack.</summary>
public sealed record PhantomStackSpec(PhantomSequence Sequence, int Volume, bool IsTest)
{
    /// <summary>The E2MIP stack name, e.g. T2W_vol0003.</summary>
    public string Name => $"{Sequence}_vol{Volume:D4}";
}

/// <summary>
/// One generated stack: stored image values (whole numbers in the range of the sequence's stored type)
/// and its exact binary brain mask, both indexed x + Width * (y + Height * z).
/// </summary>
public sealed class PhantomStack
{
    public required PhantomStackSpec Spec { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required int Depth { get; init; }
    public required double SpacingX { get; init; }
    public required double SpacingY { get; init; }
    public required double SpacingZ { get; init; }
    public required float[] Image { get; init; }
    public required byte[] Mask { get; init; }
    /// <summary>The NIfTI type the image is written as (uint16 T2W, int32 DWI, int16 FMRI, like the real data).</summary>
    public required NiftiDataType ImageType { get; init; }

    public int SliceLength => Width * Height;

    public ReadOnlySpan<float> ImageSlice(int z) => Image.AsSpan(z * SliceLength, SliceLength);

    public ReadOnlySpan<byte> MaskSlice(int z) => Mask.AsSpan(z * SliceLength, SliceLength);

    /// <summary>Fraction of slice z covered by brain.</summary>
    public double BrainFraction(int z)
    {
        int count = MaskSlice(z).Count((byte)1);
        return count / (double)SliceLength;
    }
}
