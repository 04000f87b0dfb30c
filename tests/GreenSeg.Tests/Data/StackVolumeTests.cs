using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Imaging;
using GreenSeg.Phantom;

namespace GreenSeg.Tests.Data;

public sealed class StackVolumeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-stackvolume-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void ReassemblingAPhantomStacksSlicesGivesBackItsVolumeSpacingAndMask()
    {
        var generator = new PhantomGenerator(new PhantomOptions { Seed = 3, TrainStacks = new(0, 1, 0), TestStacks = new(0, 0, 0) });
        PhantomStack stack = generator.Generate(generator.Plan().Single());
        PhantomWriter.Write(_root, stack);

        var assembled = StackVolume.Assemble(DatasetReader.Open(_root).TrainingStacks.Single());

        (assembled.Image.SizeX, assembled.Image.SizeY, assembled.Image.SizeZ).ShouldBe((stack.Width, stack.Height, stack.Depth));
        assembled.Image.SpacingX.ShouldBe(stack.SpacingX, 1e-6);
        assembled.Image.SpacingY.ShouldBe(stack.SpacingY, 1e-6);
        assembled.Image.SpacingZ.ShouldBe(stack.SpacingZ, 1e-6);
        // Slice order follows _sliceKK: every slice is where the generator put it.
        float[] expected = NiftiImage.Create(stack.Width, stack.Height, stack.Depth, 1, 1, 1, stack.Image, stack.ImageType).Scaled();
        assembled.Image.Scaled().ShouldBe(expected);
        assembled.MaskVoxels.ShouldBe(stack.Mask);
        assembled.Mask.BinaryMask().ShouldBe(stack.Mask);
    }

    [Fact]
    public void EachSliceKeepsItsOwnScaling()
    {
        // Real E2MIP slices carry their own scl_slope and scl_inter: the volume holds physical values.
        for (int k = 0; k < 2; k++)
        {
            var values = new float[] { 1, 2, 3, 4 };
            var image = NiftiImage.Create(2, 2, 1, 1, 1, 3, values, NiftiDataType.Int16);
            image.Header.SclSlope = k + 2;
            image.Header.SclInter = 10 * k;
            Directory.CreateDirectory(Path.Combine(_root, "train_slice", "images"));
            Directory.CreateDirectory(Path.Combine(_root, "train_slice", "masks"));
            image.Write(Path.Combine(_root, "train_slice", "images", $"T2W_vol0000_slice{k:D2}.nii.gz"));
            NiftiImage.Create(2, 2, 1, 1, 1, 3, new float[] { 0, 1, 1, 0 }, NiftiDataType.UInt8)
                .Write(Path.Combine(_root, "train_slice", "masks", $"T2W_vol0000_slice{k:D2}_mask.nii.gz"));
        }

        var assembled = StackVolume.Assemble(DatasetReader.Open(_root).TrainingStacks.Single());

        assembled.Image.Scaled().ShouldBe([2, 4, 6, 8, 13, 16, 19, 22]);
        assembled.Image.SpacingZ.ShouldBe(3);
        assembled.MaskVoxels.ShouldBe(new byte[] { 0, 1, 1, 0, 0, 1, 1, 0 });
    }

    [Fact]
    public void SlicesOfDifferentSizesAreAClearError()
    {
        Directory.CreateDirectory(Path.Combine(_root, "train_slice", "images"));
        Directory.CreateDirectory(Path.Combine(_root, "train_slice", "masks"));
        for (int k = 0; k < 2; k++)
        {
            int side = 2 + k;
            var values = new float[side * side];
            NiftiImage.Create(side, side, 1, 1, 1, 3, values, NiftiDataType.Int16).Write(Path.Combine(_root, "train_slice", "images", $"DWI_vol0000_slice{k:D2}.nii.gz"));
            NiftiImage.Create(side, side, 1, 1, 1, 3, values, NiftiDataType.UInt8).Write(Path.Combine(_root, "train_slice", "masks", $"DWI_vol0000_slice{k:D2}_mask.nii.gz"));
        }

        Should.Throw<InvalidInputException>(() => StackVolume.Assemble(DatasetReader.Open(_root).TrainingStacks.Single()))
            .Message.ShouldContain("DWI_vol0000_slice01.nii.gz");
    }

    [Fact]
    public void Exported_stacks_read_back_as_the_assembled_volumes_and_nothing_is_overwritten()
    {
        var generator = new PhantomGenerator(new PhantomOptions { Seed = 4, TrainStacks = new(1, 1, 0), TestStacks = new(0, 0, 0) });
        string data = Path.Combine(_root, "data"), export = Path.Combine(_root, "export");
        foreach (var spec in generator.Plan()) PhantomWriter.Write(data, generator.Generate(spec));
        var stacks = DatasetReader.Open(data).TrainingStacks;

        var written = StackExport.Write(stacks, export);

        written.Count.ShouldBe(2);
        foreach (var (stack, (image, mask)) in stacks.Zip(written))
        {
            Path.GetFileName(image).ShouldBe(stack.Id + ".nii.gz");
            Path.GetFileName(mask).ShouldBe(stack.Id + "_mask.nii.gz");
            var assembled = StackVolume.Assemble(stack);
            NiftiImage.Read(image).Scaled().ShouldBe(assembled.Image.Scaled());
            NiftiImage.Read(mask).BinaryMask().ShouldBe(assembled.MaskVoxels);
            NiftiImage.Read(image).SpacingZ.ShouldBe(assembled.Image.SpacingZ, 1e-6);
        }
        byte[] before = File.ReadAllBytes(written[0].Image);
        Should.Throw<InvalidInputException>(() => StackExport.Write(stacks, export)).Message.ShouldContain("already exists");
        File.ReadAllBytes(written[0].Image).ShouldBe(before);
    }
}
