using GreenSeg.Common;
using GreenSeg.Phantom;
using GreenSeg.Review;

namespace GreenSeg.Tests.Review;

internal static class ReviewTestData
{
    private static readonly Lazy<PhantomStack> Stack = new(() =>
        new PhantomGenerator(new PhantomOptions { Seed = 7 }).Generate(new PhantomStackSpec(PhantomSequence.T2W, 0, IsTest: false)));

    public static PhantomStack Phantom => Stack.Value;

    public static VoxelGrid Grid(PhantomStack stack) => new(stack.Width, stack.Height, stack.Depth, stack.SpacingX, stack.SpacingY, stack.SpacingZ);

    /// <summary>The phantom's image and exact mask as the prediction, with an optional reference.</summary>
    public static ReviewVolumes Volumes(byte[]? prediction = null, byte[]? reference = null, bool image = true) =>
        new(Grid(Phantom), image ? Phantom.Image : null, prediction ?? Phantom.Mask, reference);

    /// <summary>The mask moved by dx voxels along x (what leaves the slice is dropped).</summary>
    public static byte[] Shifted(byte[] mask, VoxelGrid grid, int dx)
    {
        var shifted = new byte[mask.Length];
        for (int z = 0; z < grid.SizeZ; z++)
            for (int y = 0; y < grid.SizeY; y++)
                for (int x = 0; x < grid.SizeX; x++)
                    if (x - dx >= 0 && x - dx < grid.SizeX) shifted[grid.Index(x, y, z)] = mask[grid.Index(x - dx, y, z)];
        return shifted;
    }
}
