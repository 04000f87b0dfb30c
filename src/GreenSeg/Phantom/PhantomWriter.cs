using GreenSeg.Imaging;

namespace GreenSeg.Phantom;

/// <summary>
/// Writes phantom stacks in the E2MIP task-3 layout: training stacks as 2D slices with masks under
/// train_slice/, test stacks as 3D volumes under test_volume/images, with their ground truth in
/// test_volume/masks (which the real challenge keeps hidden), so evaluation can run on the phantom.
/// Every file is written atomically.
/// </summary>
public static class PhantomWriter
{
    /// <summary>Generates and writes every stack of a phantom dataset (E2MIP layout); <paramref name="written"/> hears of each.</summary>
    public static void WriteDataset(string root, PhantomOptions options, Action<PhantomStack>? written = null, CancellationToken cancellationToken = default)
    {
        var generator = new PhantomGenerator(options);
        foreach (PhantomStackSpec spec in generator.Plan())
        {
            cancellationToken.ThrowIfCancellationRequested();
            PhantomStack stack = generator.Generate(spec);
            Write(root, stack);
            written?.Invoke(stack);
        }
    }

    public static void Write(string root, PhantomStack stack)
    {
        if (stack.Spec.IsTest) WriteTestVolume(root, stack);
        else WriteTrainingSlices(root, stack);
    }

    public static string TrainingImagePath(string root, PhantomStackSpec spec, int slice) =>
        Path.Combine(root, "train_slice", "images", $"{spec.Name}_slice{slice:D2}.nii.gz");

    public static string TrainingMaskPath(string root, PhantomStackSpec spec, int slice) =>
        Path.Combine(root, "train_slice", "masks", $"{spec.Name}_slice{slice:D2}_mask.nii.gz");

    public static string TestImagePath(string root, PhantomStackSpec spec) =>
        Path.Combine(root, "test_volume", "images", $"{spec.Name}.nii.gz");

    public static string TestMaskPath(string root, PhantomStackSpec spec) =>
        Path.Combine(root, "test_volume", "masks", $"{spec.Name}_mask.nii.gz");

    private static void WriteTrainingSlices(string root, PhantomStack stack) =>
        Parallel.For(0, stack.Depth, z =>
        {
            NiftiImage image = NiftiImage.Create(stack.Width, stack.Height, 1, stack.SpacingX, stack.SpacingY, stack.SpacingZ,
                stack.ImageSlice(z), stack.ImageType);
            image.Write(TrainingImagePath(root, stack.Spec, z));
            image.WithMask(stack.MaskSlice(z)).Write(TrainingMaskPath(root, stack.Spec, z));
        });

    private static void WriteTestVolume(string root, PhantomStack stack)
    {
        NiftiImage image = NiftiImage.Create(stack.Width, stack.Height, stack.Depth, stack.SpacingX, stack.SpacingY, stack.SpacingZ,
            stack.Image, stack.ImageType);
        image.Write(TestImagePath(root, stack.Spec));
        image.WithMask(stack.Mask).Write(TestMaskPath(root, stack.Spec));
    }
}
