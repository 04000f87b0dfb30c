using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Phantom;

namespace GreenSeg.Tests.Models;

public sealed class PretrainedModelsTests
{
    [Fact]
    public void TheDefaultModelIsBundledWithItsCardAndIsSmall()
    {
        var model = PretrainedModels.Default();

        model.Name.ShouldBe(PretrainedModels.DefaultName);
        PretrainedModels.All().Select(m => m.Name).ShouldContain(PretrainedModels.DefaultName);
        model.SizeBytes.ShouldBeLessThan(15L << 20);
        model.Card.Command.ShouldContain("greenseg");
        model.Card.CrossValidation.ShouldContain("crossval");
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("[1, 2]")]
    [InlineData("{ \"name\": \"x\" }")]
    public void ABrokenCardIsAnErrorNamingTheFile(string text)
    {
        string folder = Path.Combine(PretrainedModels.Root, "broken-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, PretrainedModels.CardFileName), text);
            Should.Throw<InvalidInputException>(() => PretrainedModels.Find(Path.GetFileName(folder)))
                .Message.ShouldContain(PretrainedModels.CardFileName);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../fetal-brain-v1")]
    [InlineData("/etc")]
    [InlineData("no-such-model")]
    public void ANameThatIsNotABundledModelFindsNothing(string name) => PretrainedModels.Find(name).ShouldBeNull();

    [Fact]
    public void EveryBundledModelNamesItsNetworkAndWhatSegmentLoads()
    {
        foreach (var model in PretrainedModels.All())
        {
            model.Manifest().Model.ShouldNotBeNullOrEmpty(model.Name);
            (File.Exists(model.ModelPath) || Directory.Exists(model.ModelPath)).ShouldBeTrue(model.Name);
        }
        PretrainedModels.Default().ModelPath.ShouldBe(PretrainedModels.Default().Folder, "a checkpoint folder loads as a folder");
    }
}

[Collection(nameof(GreenSeg.Tests.Training.SerialTorch))]
public sealed class PretrainedModelSegmentationTests
{
    [Fact]
    public void TheBundledModelLoadsAndSegmentsAPhantomStack()
    {
        var image = PhantomImage();
        using var segmenter = Segmenter.Load(PretrainedModels.Default().Folder, new SegmentOptions { Threads = 2 });
        var mask = segmenter.Segment(image).Mask;

        // It keeps the large components, as cross-validation of its recipe chose; its model.json says so.
        segmenter.ResolvedPostProcessing.Components.ShouldBe(GreenSeg.Transforms.ComponentSelection.Large);

        (mask.SizeX, mask.SizeY, mask.SizeZ).ShouldBe((image.SizeX, image.SizeY, image.SizeZ));
        // A phantom is not a fetus, but a model that found no brain at all would be no model.
        mask.BinaryMask().Count(v => v == 1).ShouldBeGreaterThan(0);
    }

    [Fact]
    public void TheDefaultModelWasTrainedOnCutPlanesAndSegmentsAllThreePlanesOfAStackOnRequest()
    {
        var manifest = PretrainedModels.Default().Manifest();
        manifest.MultiPlanar.ShouldBeGreaterThan(0);
        // Today's default recipe, as cross-validation chose it: percentile scaling, the weight average.
        manifest.Normalization.ShouldBe(GreenSeg.Transforms.IntensityNormalization.Percentile);
        manifest.TrainedWith.ShouldContain("weights averaged");
        var image = PhantomImage();
        (image.SizeZ * image.SpacingZ).ShouldBeGreaterThanOrEqualTo(GreenSeg.Data.MultiPlanarCuts.MinimumThroughPlaneMm);
        using var threePlanes = Segmenter.Load(PretrainedModels.Default().Folder, new SegmentOptions { Threads = 2, Views = SegmentationViews.ThreePlanes });

        var mask = threePlanes.Segment(image).Mask;
        mask.BinaryMask().Count(v => v == 1).ShouldBeGreaterThan(0);
    }

    [Fact]
    public void TheBundledInt8ModelGivesTheFp32ModelsMasks()
    {
        var image = PhantomImage();
        var int8 = PretrainedModels.Find("fetal-brain-v1-int8").ShouldNotBeNull();
        using var quantised = Segmenter.Load(int8.ModelPath, new SegmentOptions { Threads = 2 });
        using var fp32 = Segmenter.Load(PretrainedModels.Find("fetal-brain-v1").ShouldNotBeNull().ModelPath, new SegmentOptions { Threads = 2 });

        quantised.Manifest.ShouldBeEquivalentTo(fp32.Manifest);
        byte[] a = quantised.Segment(image).Mask.BinaryMask(), b = fp32.Segment(image).Mask.BinaryMask();
        double dice = 2.0 * a.Zip(b).Count(p => p.First == 1 && p.Second == 1) / (a.Count(v => v == 1) + b.Count(v => v == 1));
        dice.ShouldBeGreaterThan(0.95);
    }

    private static NiftiImage PhantomImage()
    {
        var generator = new PhantomGenerator(new PhantomOptions { Seed = 5, TrainStacks = new(0, 0, 0), TestStacks = new(1, 0, 0) });
        PhantomStack stack = generator.Generate(generator.Plan().Single());
        return NiftiImage.Create(stack.Width, stack.Height, stack.Depth, stack.SpacingX, stack.SpacingY, stack.SpacingZ, stack.Image, stack.ImageType);
    }
}
