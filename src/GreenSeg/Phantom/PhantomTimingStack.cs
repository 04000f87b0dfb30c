using GreenSeg.Imaging;

namespace GreenSeg.Phantom;

/// <summary>
/// The stack inference is timed on (<c>greenseg bench inference</c>, a study's seconds and joules per stack): the default
/// phantom's first T2W test stack (1 mm in-plane), its slices repeated to the asked count and cropped or padded to
/// Size x Size, so every timing segments the same voxels.
/// </summary>
public static class PhantomTimingStack
{
    public static NiftiImage Create(int slices, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slices, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var generator = new PhantomGenerator(new PhantomOptions { TrainStacks = new(0, 0, 0), TestStacks = new(1, 0, 0) });
        var source = generator.Generate(generator.Plan()[0]);
        var values = new float[size * size * slices];
        for (int z = 0; z < slices; z++)
        {
            var slice = source.ImageSlice(z % source.Depth);
            for (int y = 0; y < Math.Min(size, source.Height); y++)
                for (int x = 0; x < Math.Min(size, source.Width); x++)
                    values[x + size * (y + size * z)] = slice[x + source.Width * y];
        }
        return NiftiImage.Create(size, size, slices, source.SpacingX, source.SpacingY, source.SpacingZ, values, NiftiDataType.UInt16);
    }
}
