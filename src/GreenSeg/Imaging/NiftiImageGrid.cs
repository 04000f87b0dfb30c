using GreenSeg.Common;

namespace GreenSeg.Imaging;

public static class NiftiImageGrid
{
    /// <summary>The image's voxel grid: its sizes and its voxel spacing in mm.</summary>
    public static VoxelGrid Grid(this NiftiImage image) =>
        new(image.SizeX, image.SizeY, image.SizeZ, image.SpacingX, image.SpacingY, image.SpacingZ);
}
