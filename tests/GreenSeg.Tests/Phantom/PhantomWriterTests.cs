using GreenSeg.Data;
using GreenSeg.Imaging;
using GreenSeg.Phantom;

namespace GreenSeg.Tests.Phantom;

public sealed class PhantomWriterTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "greenseg-phantom-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Writes_the_E2MIP_layout_that_the_dataset_reader_opens()
    {
        var generator = new PhantomGenerator(new PhantomOptions { TrainStacks = new StackCounts(0, 0, 1), TestStacks = new StackCounts(0, 1, 0) });
        PhantomStack[] stacks = generator.Plan().Select(generator.Generate).ToArray();
        foreach (PhantomStack stack in stacks) PhantomWriter.Write(_root, stack);

        Dataset dataset = DatasetReader.Open(_root);
        dataset.Layout.ShouldBe(DatasetLayout.E2mip);
        dataset.Problems.ShouldBeEmpty();
        TrainingStack training = dataset.TrainingStacks.ShouldHaveSingleItem();
        training.Id.ShouldBe("FMRI_vol0000");
        training.Slices.Count.ShouldBe(stacks[1].Depth);
        training.Slices.ShouldAllBe(s => s.MaskPath != null);
        TestVolume test = dataset.TestVolumes.ShouldHaveSingleItem();
        test.Id.ShouldBe("DWI_vol0000");
        test.MaskPath.ShouldNotBeNull();
    }

    [Fact]
    public void Training_slices_hold_the_stack_values_types_and_geometry()
    {
        var generator = new PhantomGenerator(new PhantomOptions());
        PhantomStack stack = generator.Generate(new PhantomStackSpec(PhantomSequence.FMRI, 0, IsTest: false));
        PhantomWriter.Write(_root, stack);

        for (int z = 0; z < stack.Depth; z++)
        {
            NiftiImage image = NiftiImage.Read(PhantomWriter.TrainingImagePath(_root, stack.Spec, z));
            NiftiImage mask = NiftiImage.Read(PhantomWriter.TrainingMaskPath(_root, stack.Spec, z));
            (image.SizeX, image.SizeY, image.SizeZ).ShouldBe((stack.Width, stack.Height, 1));
            image.SpacingX.ShouldBe(stack.SpacingX, 1e-6);
            image.SpacingZ.ShouldBe(stack.SpacingZ, 1e-6);
            image.Header.DataType.ShouldBe(NiftiDataType.Int16);
            mask.Header.DataType.ShouldBe(NiftiDataType.UInt8);
            image.Scaled().ShouldBe(stack.ImageSlice(z).ToArray());
            mask.BinaryMask().ShouldBe(stack.MaskSlice(z).ToArray());
        }
        File.Exists(PhantomWriter.TrainingImagePath(_root, stack.Spec, stack.Depth)).ShouldBeFalse();
    }

    [Fact]
    public void A_test_stack_is_one_volume_with_its_ground_truth()
    {
        var generator = new PhantomGenerator(new PhantomOptions());
        PhantomStack stack = generator.Generate(new PhantomStackSpec(PhantomSequence.T2W, 2, IsTest: true));
        PhantomWriter.Write(_root, stack);

        NiftiImage image = NiftiImage.Read(PhantomWriter.TestImagePath(_root, stack.Spec));
        NiftiImage mask = NiftiImage.Read(PhantomWriter.TestMaskPath(_root, stack.Spec));
        (image.SizeX, image.SizeY, image.SizeZ).ShouldBe((256, 256, stack.Depth));
        image.Header.DataType.ShouldBe(NiftiDataType.UInt16);
        image.Scaled().ShouldBe(stack.Image);
        mask.BinaryMask().ShouldBe(stack.Mask);
        Directory.Exists(Path.Combine(_root, "train_slice")).ShouldBeFalse();
    }

    [Fact]
    public void The_same_seed_writes_identical_bytes()
    {
        var generator = new PhantomGenerator(new PhantomOptions { Seed = 9 });
        var spec = new PhantomStackSpec(PhantomSequence.DWI, 0, IsTest: true);
        PhantomWriter.Write(Path.Combine(_root, "a"), generator.Generate(spec));
        PhantomWriter.Write(Path.Combine(_root, "b"), generator.Generate(spec));

        File.ReadAllBytes(PhantomWriter.TestImagePath(Path.Combine(_root, "a"), spec))
            .ShouldBe(File.ReadAllBytes(PhantomWriter.TestImagePath(Path.Combine(_root, "b"), spec)));
    }
}
