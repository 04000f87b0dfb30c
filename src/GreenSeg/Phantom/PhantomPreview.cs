using GreenSeg.Imaging;

namespace GreenSeg.Phantom;

/// <summary>A PNG contact sheet of one stack: slices from bottom to top with the mask outlined, and the largest brain slice.</summary>
public static class PhantomPreview
{
    public static void Write(string path, PhantomStack stack)
    {
        int largest = Enumerable.Range(0, stack.Depth).MaxBy(stack.BrainFraction);
        int[] slices = [0, stack.Depth / 4, largest, 3 * stack.Depth / 4, stack.Depth - 1];
        PreviewTile[] tiles = slices.Select(z => new PreviewTile(
            stack.Image.AsMemory(z * stack.SliceLength, stack.SliceLength), stack.Width, stack.Height,
            stack.Mask.AsMemory(z * stack.SliceLength, stack.SliceLength))).ToArray();
        PreviewPng.Write(path, tiles, tiles.Length);
    }
}
