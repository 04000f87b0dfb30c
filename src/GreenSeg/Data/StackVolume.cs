using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Data;

/// <summary>A training stack reassembled into one 3D image (float32, physical values) and its 0/1 mask.</summary>
public sealed record AssembledStack(TrainingStack Stack, NiftiImage Image, NiftiImage Mask, byte[] MaskVoxels);

/// <summary>
/// Reassembles a stack stored as 2D slices (E2MIP's train_slice: one file per slice, every slice with
/// the same affine) into the 3D stack it was cut from, so it can be segmented and scored exactly as
/// <c>greenseg segment</c> treats a 3D test stack. Slices come in the stack's slice order (from
/// <c>_sliceKK</c>); the through-plane spacing is the slices' pixdim[3]. Each slice keeps its own scaling
/// (slope and intercept differ per slice), so the volume holds physical values with no scaling.
/// </summary>
public static class StackVolume
{
    public static AssembledStack Assemble(TrainingStack stack)
    {
        if (stack.Slices.Count == 0) throw new InvalidInputException(stack.Id, "stack has no slices");
        var reader = new SliceReader();
        NiftiImage first = NiftiImage.ReadHeader(stack.Slices[0].ImagePath);
        int width = first.SizeX, height = first.SizeY, pixels = width * height;
        var image = new float[pixels * stack.Slices.Count];
        var mask = new byte[image.Length];
        for (int z = 0; z < stack.Slices.Count; z++)
        {
            var slice = stack.Slices[z];
            if (slice.MaskPath is null) throw new InvalidInputException(slice.ImagePath, "has no mask; a stack is reassembled only from labelled slices");
            RawSlice raw = reader.Read(slice);
            if (raw.Width != width || raw.Height != height)
                throw new InvalidInputException(slice.ImagePath, $"is {raw.Width}x{raw.Height} but the stack's first slice is {width}x{height}");
            raw.Image.CopyTo(image.AsSpan(z * pixels, pixels));
            raw.Mask!.CopyTo(mask.AsSpan(z * pixels, pixels));
        }
        NiftiImage volume = WithDepth(first.Header, width, height, stack.Slices.Count).WithVoxels(image, NiftiDataType.Float32);
        return new AssembledStack(stack, volume, volume.WithMask(mask), mask);
    }

    /// <summary>An empty image carrying the slices' geometry, extended to <paramref name="depth"/> slices.</summary>
    private static NiftiImage WithDepth(NiftiHeader sliceHeader, int width, int height, int depth)
    {
        var header = sliceHeader.Clone();
        header.Dim = [3, width, height, depth, 1, 1, 1, 1];
        return new NiftiImage(header, [], width, height, depth, sourcePath: null);
    }
}

/// <summary>
/// Writes training stacks stored as slices as 3D stacks (<c>images/&lt;stack&gt;.nii.gz</c> and
/// <c>masks/&lt;stack&gt;_mask.nii.gz</c>), as a viewer, <c>greenseg segment</c> and <c>greenseg evaluate</c> take them.
/// Never overwrites a file: an existing output is an error before anything is written.
/// </summary>
public static class StackExport
{
    public const string MaskSuffix = "_mask";

    /// <summary>The (image, mask) paths written, one pair per stack.</summary>
    public static IReadOnlyList<(string Image, string Mask)> Write(IEnumerable<TrainingStack> stacks, string folder)
    {
        string images = Path.Combine(Path.GetFullPath(folder), "images"), masks = Path.Combine(Path.GetFullPath(folder), "masks");
        var outputs = stacks.Select(s => (Stack: s, Image: Path.Combine(images, s.Id + ".nii.gz"), Mask: Path.Combine(masks, s.Id + MaskSuffix + ".nii.gz"))).ToList();
        if (outputs.SelectMany(o => new[] { o.Image, o.Mask }).FirstOrDefault(File.Exists) is { } existing)
            throw new InvalidInputException(existing, "already exists; GreenSeg does not overwrite files it did not write in this run: choose an empty --out");
        Directory.CreateDirectory(images);
        Directory.CreateDirectory(masks);
        foreach (var (stack, image, mask) in outputs)
        {
            var assembled = StackVolume.Assemble(stack);
            assembled.Image.Write(image);
            assembled.Mask.Write(mask);
        }
        return outputs.Select(o => (o.Image, o.Mask)).ToList();
    }
}
