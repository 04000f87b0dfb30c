using GreenSeg.Imaging;

namespace GreenSeg.Tests.Imaging;

public class RealNiftiTests
{
    [RealDataFact]
    public void EveryFileOfTheSharedDataReadsWithSaneGeometry()
    {
        var files = Directory.GetFiles(RealData.E2mipFetalOrThrow, "*.nii.gz", SearchOption.AllDirectories);
        files.Length.ShouldBe(407 * 2 + 6);
        foreach (var file in files)
        {
            var image = NiftiImage.Read(file);
            image.SizeX.ShouldBeInRange(100, 256, file);
            image.SpacingX.ShouldBeInRange(0.5, 3.5, file);
            if (file.Contains("_mask")) image.BinaryMask().ShouldContain(b => b == 0, file);
        }
    }

    [RealDataFact]
    public void ScaledMasksBinariseToCleanBrains()
    {
        string masks = Path.Combine(RealData.E2mipFetalOrThrow, "train_slice", "masks");
        // A DWI mask stored as +-2^31 with a tiny slope: raw > 0 must give a small brain, not the whole slice.
        var mask = NiftiImage.Read(Path.Combine(masks, "DWI_vol0000_slice10_mask.nii.gz"));
        double coverage = mask.BinaryMask().Count(b => b == 1) / (double)mask.VoxelCount;
        coverage.ShouldBeInRange(0.001, 0.2);
    }

    [RealDataFact]
    public void AStackKeepsItsAffineThroughAMaskWrite()
    {
        string stack = Path.Combine(RealData.E2mipFetalOrThrow, "test_volume", "images", "T2W_vol0009.nii.gz");
        var image = NiftiImage.Read(stack);
        (image.SizeX, image.SizeY, image.SizeZ).ShouldBe((256, 256, 46));
        string output = Path.Combine(Path.GetTempPath(), $"greenseg-affine-{Guid.NewGuid():N}.nii.gz");
        try
        {
            image.WithMask(new byte[image.VoxelCount]).Write(output);
            var back = NiftiImage.Read(output);
            back.Header.Affine().ShouldBe(image.Header.Affine());
            back.Header.QFormCode.ShouldBe(image.Header.QFormCode);
            back.Header.PixDim.ShouldBe(image.Header.PixDim);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
