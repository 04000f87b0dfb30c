using GreenSeg.Inference;

namespace GreenSeg.Tests.Inference;

public sealed class TestTimeAugmentationTests
{
    // Two 3 x 3 planes, values 0..17, row major.
    private static float[] TwoPlanes() => Enumerable.Range(0, 18).Select(v => (float)v).ToArray();

    [Fact]
    public void MirrorsReverseRowsColumnsOrBothOfEveryPlane()
    {
        var planes = TwoPlanes();

        new Mirror(true, false).Apply(planes, 3).ShouldBe([2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9, 14, 13, 12, 17, 16, 15]);
        new Mirror(false, true).Apply(planes, 3).ShouldBe([6, 7, 8, 3, 4, 5, 0, 1, 2, 15, 16, 17, 12, 13, 14, 9, 10, 11]);
        new Mirror(true, true).Apply(planes, 3).ShouldBe([8, 7, 6, 5, 4, 3, 2, 1, 0, 17, 16, 15, 14, 13, 12, 11, 10, 9]);
        new Mirror(false, false).Apply(planes, 3).ShouldBeSameAs(planes);
    }

    [Theory]
    [InlineData(TestTimeAugmentation.None, 1)]
    [InlineData(TestTimeAugmentation.LeftRight, 2)]
    [InlineData(TestTimeAugmentation.Flips, 4)]
    public void EveryMirrorIsItsOwnInverseAndTheIdentityComesFirst(TestTimeAugmentation tta, int passes)
    {
        var mirrors = tta.Mirrors();

        mirrors.Count.ShouldBe(passes);
        mirrors[0].IsIdentity.ShouldBeTrue();
        mirrors.Distinct().Count().ShouldBe(passes);
        foreach (var mirror in mirrors) mirror.Apply(mirror.Apply(TwoPlanes(), 3), 3).ShouldBe(TwoPlanes());
    }

    [Fact]
    public void AMirrorRefusesValuesThatAreNotWholePlanes() =>
        Should.Throw<ArgumentException>(() => new Mirror(true, false).Apply(new float[10], 3)).Message.ShouldContain("3x3");

    [Fact]
    public void AnEngineThatCommutesWithMirrorsGivesTheSameProbabilitiesWithAnyAugmentation()
    {
        using var engine = new FakeEngine(input => input.ToArray());
        var input = TwoPlanes().Select(v => v - 9).ToArray();

        var plain = Probabilities(engine, input, 2, 3, TestTimeAugmentation.None);

        Probabilities(engine, input, 2, 3, TestTimeAugmentation.Flips).ShouldBe(plain, tolerance: 1e-6);
        engine.Calls.ShouldBe(5);
        plain[0].ShouldBe(1 / (1 + MathF.Exp(9)), 1e-6);
    }

    [Fact]
    public void EachMirroredPredictionIsMappedBackToItsPixelBeforeAveraging()
    {
        // An engine that only sees where a pixel sits: logit 10 in the top-left pixel, -10 elsewhere. Mapped back, the
        // four mirrors each mark one corner, so every corner averages to a quarter and the centre stays near 0.
        using var engine = new FakeEngine(input =>
        {
            var logits = Enumerable.Repeat(-10f, input.Length).ToArray();
            for (int plane = 0; plane < input.Length; plane += 9) logits[plane] = 10;
            return logits;
        });

        var probabilities = Probabilities(engine, new float[9], 1, 3, TestTimeAugmentation.Flips);

        foreach (int corner in new[] { 0, 2, 6, 8 }) probabilities[corner].ShouldBe(0.25f, 1e-3);
        probabilities[4].ShouldBe(0f, 1e-3);
        Probabilities(engine, new float[9], 1, 3, TestTimeAugmentation.LeftRight)[2].ShouldBe(0.5f, 1e-3);
    }

    [Fact]
    public void SegmentOptionsSpellWhatDecidesTheMasksAsSegmentsOptions()
    {
        new SegmentOptions().MaskOptions().ShouldBe("--views stored --tta left-right --threshold 0.5");
        new SegmentOptions { Tta = TestTimeAugmentation.Flips, Views = SegmentationViews.ThreePlanes, Threshold = 0.3f, PostProcessing = GreenSeg.Transforms.PostProcessingOptions.None }
            .MaskOptions().ShouldBe("--views three-planes --tta flips --threshold 0.3 --no-postprocess");
        new SegmentOptions { Tta = TestTimeAugmentation.None, PostProcessing = GreenSeg.Transforms.PostProcessingOptions.Default with { Components = GreenSeg.Transforms.ComponentSelection.Large, MinComponentShare = 0.2 } }
            .MaskOptions().ShouldBe("--views stored --tta none --threshold 0.5 --components large --min-component-share 0.2");
    }

    [Fact]
    public void AnUnknownAugmentationIsRefusedByName() =>
        Should.Throw<GreenSeg.Common.GreenSegException>(() => new SegmentOptions { Tta = (TestTimeAugmentation)7 }.Validate()).Message.ShouldContain("test-time augmentation");

    // Probabilities is the interface's default method, reached through the interface.
    private static float[] Probabilities(IInferenceEngine engine, float[] input, int count, int size, TestTimeAugmentation tta) =>
        engine.Probabilities(input, count, size, tta);

    private sealed class FakeEngine(Func<float[], float[]> logits) : IInferenceEngine
    {
        public int Calls { get; private set; }

        public float[] Logits(float[] input, int count, int size)
        {
            Calls++;
            return logits(input);
        }

        public void Dispose() { }
    }
}
