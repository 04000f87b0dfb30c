using GreenSeg.Imaging;
using GreenSeg.Transforms;

namespace GreenSeg.Data;

/// <summary>
/// Reads slices of training files. A 3D file gives many slices, so the last file read is kept and
/// consecutive slices of one stack do not decode it again. Not thread-safe: one per loader thread.
/// </summary>
public sealed class SliceReader
{
    private string? _imagePath, _maskPath;
    private NiftiImage? _image, _mask;
    private InPlaneOrientation _orientation;

    public RawSlice Read(SliceRef slice)
    {
        if (slice.Cut is { } cut) return cut.Plane;
        if (_imagePath != slice.ImagePath)
        {
            _image = NiftiImage.Read(slice.ImagePath);
            _imagePath = slice.ImagePath;
            _orientation = InPlaneOrientation.FromAffine(_image.Header.Affine());
        }
        if (slice.MaskPath is not null && _maskPath != slice.MaskPath)
        {
            _mask = NiftiImage.Read(slice.MaskPath);
            _maskPath = slice.MaskPath;
        }
        var image = _image!;
        byte[]? mask = null;
        if (slice.MaskPath is not null)
        {
            var m = _mask!;
            if ((m.SizeX, m.SizeY, m.SizeZ) != (image.SizeX, image.SizeY, image.SizeZ))
                throw new Common.InvalidInputException(slice.MaskPath,
                    $"mask is {m.SizeX}x{m.SizeY}x{m.SizeZ} but its image {Path.GetFileName(slice.ImagePath)} is {image.SizeX}x{image.SizeY}x{image.SizeZ}");
            mask = m.BinaryMask().AsSpan(slice.Z * m.SliceLength, m.SliceLength).ToArray();
        }
        return new RawSlice(image.ScaledSlice(slice.Z), mask, image.SizeX, image.SizeY, image.SpacingX, image.SpacingY, _orientation);
    }
}
