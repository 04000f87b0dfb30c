using GreenSeg.Phantom;

namespace GreenSeg.Tests.Phantom;

/// <summary>The default phantom, generated once for the tests that only read it.</summary>
public sealed class DefaultPhantom
{
    public PhantomGenerator Generator { get; } = new(new PhantomOptions());
    public IReadOnlyList<PhantomStack> Stacks { get; }

    public DefaultPhantom() => Stacks = Generator.Plan().Select(Generator.Generate).ToList();
}

public class PhantomGeneratorTests(DefaultPhantom phantom) : IClassFixture<DefaultPhantom>
{
    [Fact]
    public void Plans_training_then_test_volumes_per_sequence()
    {
        phantom.Generator.Plan().Select(s => $"{s.Name}{(s.IsTest ? " test" : "")}").ShouldBe(
        [
            "T2W_vol0000", "T2W_vol0001", "T2W_vol0002 test",
            "DWI_vol0000", "DWI_vol0001", "DWI_vol0002 test",
            "FMRI_vol0000", "FMRI_vol0001", "FMRI_vol0002 test",
        ]);
    }

    [Theory]
    [InlineData(0, 0, 0, 0)]
    [InlineData(6, 2, 2, 2)]
    [InlineData(7, 3, 2, 2)]
    [InlineData(8, 3, 3, 2)]
    public void Spreads_a_total_over_the_sequences(int total, int t2w, int dwi, int fmri) =>
        StackCounts.Spread(total).ShouldBe(new StackCounts(t2w, dwi, fmri));

    [Fact]
    public void Same_seed_gives_identical_stacks()
    {
        var spec = new PhantomStackSpec(PhantomSequence.FMRI, 0, false);
        PhantomStack first = new PhantomGenerator(new PhantomOptions { Seed = 3 }).Generate(spec);
        PhantomStack again = new PhantomGenerator(new PhantomOptions { Seed = 3 }).Generate(spec);

        again.Image.ShouldBe(first.Image);
        again.Mask.ShouldBe(first.Mask);
        again.SpacingX.ShouldBe(first.SpacingX);
        again.SpacingZ.ShouldBe(first.SpacingZ);
    }

    [Fact]
    public void Another_seed_or_volume_gives_another_stack()
    {
        PhantomStack baseline = new PhantomGenerator(new PhantomOptions { Seed = 3 }).Generate(new PhantomStackSpec(PhantomSequence.FMRI, 0, false));
        PhantomStack otherSeed = new PhantomGenerator(new PhantomOptions { Seed = 4 }).Generate(new PhantomStackSpec(PhantomSequence.FMRI, 0, false));
        PhantomStack otherVolume = new PhantomGenerator(new PhantomOptions { Seed = 3 }).Generate(new PhantomStackSpec(PhantomSequence.FMRI, 1, false));

        SameStack(baseline, otherSeed).ShouldBeFalse();
        SameStack(baseline, otherVolume).ShouldBeFalse();
    }

    [Fact]
    public void A_stack_does_not_depend_on_how_many_others_are_made()
    {
        PhantomStack inDefault = phantom.Stacks.Single(s => s.Spec.Name == "DWI_vol0001");
        var more = new PhantomGenerator(new PhantomOptions { TrainStacks = new StackCounts(0, 5, 0), TestStacks = new StackCounts(0, 0, 0) });
        PhantomStack inLarger = more.Generate(more.Plan().Single(s => s.Name == "DWI_vol0001"));

        inLarger.Image.ShouldBe(inDefault.Image);
        inLarger.Mask.ShouldBe(inDefault.Mask);
    }

    [Theory]
    [InlineData(PhantomSequence.T2W, 256, 0.9, 1.1)]
    [InlineData(PhantomSequence.DWI, 128, 2.0, 2.35)]
    [InlineData(PhantomSequence.FMRI, 100, 3.0, 3.0)]
    public void Each_sequence_has_its_shape_spacing_and_slice_count(PhantomSequence sequence, int size, double minSpacing, double maxSpacing)
    {
        foreach (PhantomStack stack in phantom.Stacks.Where(s => s.Spec.Sequence == sequence))
        {
            stack.Width.ShouldBe(size);
            stack.Height.ShouldBe(size);
            stack.SpacingX.ShouldBe(stack.SpacingY);
            stack.SpacingX.ShouldBeInRange(minSpacing - 1e-6, maxSpacing + 1e-6);
            stack.SpacingZ.ShouldBeInRange(2.0, 4.0);
            stack.Depth.ShouldBeInRange(20, 40);
            stack.Image.Length.ShouldBe(size * size * stack.Depth);
            stack.Mask.Length.ShouldBe(stack.Image.Length);
        }
    }

    [Fact]
    public void Masks_are_exactly_binary_and_images_hold_whole_non_negative_values()
    {
        foreach (PhantomStack stack in phantom.Stacks)
        {
            stack.Mask.ShouldAllBe(b => b == 0 || b == 1);
            stack.Image.ShouldAllBe(v => v >= 0 && v == MathF.Round(v));
            stack.Image.Max().ShouldBeGreaterThan(100f);
        }
    }

    [Fact]
    public void Every_stack_has_empty_slices_above_and_below_the_brain()
    {
        foreach (PhantomStack stack in phantom.Stacks)
        {
            double[] coverage = Enumerable.Range(0, stack.Depth).Select(stack.BrainFraction).ToArray();
            int first = Array.FindIndex(coverage, c => c > 0), last = Array.FindLastIndex(coverage, c => c > 0);
            first.ShouldBeGreaterThanOrEqualTo(1, stack.Spec.Name);
            last.ShouldBeLessThanOrEqualTo(stack.Depth - 2, stack.Spec.Name);
            (last - first + 1).ShouldBeGreaterThan(stack.Depth / 2, stack.Spec.Name);
        }
    }

    [Fact]
    public void Brain_covers_a_few_percent_of_a_slice_like_the_real_data()
    {
        // Real E2MIP training slices: 23% empty, brain covering a median 3.6% (at most 8.8%) of a non-empty slice.
        double[] all = phantom.Stacks.SelectMany(s => Enumerable.Range(0, s.Depth).Select(s.BrainFraction)).ToArray();
        double[] nonEmpty = all.Where(c => c > 0).Order().ToArray();
        double emptyShare = 1 - nonEmpty.Length / (double)all.Length;

        nonEmpty[nonEmpty.Length / 2].ShouldBeInRange(0.02, 0.06);
        nonEmpty[^1].ShouldBeLessThan(0.12);
        emptyShare.ShouldBeInRange(0.1, 0.45);
    }

    [Fact]
    public void On_T2W_the_mask_edge_is_the_bright_CSF_inside_the_dark_skull()
    {
        // Image and mask must belong together: the mask ends where CSF meets the skull.
        foreach (PhantomStack stack in phantom.Stacks.Where(s => s.Spec.Sequence == PhantomSequence.T2W))
        {
            int z = Enumerable.Range(0, stack.Depth).MaxBy(stack.BrainFraction);
            (double inner, double outer) = EdgeMeans(stack.ImageSlice(z), stack.MaskSlice(z), stack.Width, stack.Height);
            inner.ShouldBeGreaterThan(1.5 * outer, stack.Spec.Name);
        }
    }

    [Fact]
    public void Rejects_negative_counts()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new PhantomGenerator(new PhantomOptions { TrainStacks = new StackCounts(-1, 0, 0) }));
        Should.Throw<ArgumentOutOfRangeException>(() => StackCounts.Spread(-2));
    }

    /// <summary>Mean intensity of mask pixels touching the background, and of background pixels touching the mask.</summary>
    private static (double Inner, double Outer) EdgeMeans(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int width, int height)
    {
        double inner = 0, outer = 0;
        int innerCount = 0, outerCount = 0;
        for (int y = 1; y < height - 1; y++)
        for (int x = 1; x < width - 1; x++)
        {
            int i = x + width * y;
            bool edge = mask[i - 1] != mask[i] || mask[i + 1] != mask[i] || mask[i - width] != mask[i] || mask[i + width] != mask[i];
            if (!edge) continue;
            if (mask[i] != 0) { inner += image[i]; innerCount++; }
            else { outer += image[i]; outerCount++; }
        }
        return (inner / innerCount, outer / outerCount);
    }

    private static bool SameStack(PhantomStack a, PhantomStack b) =>
        a.Depth == b.Depth && a.Image.AsSpan().SequenceEqual(b.Image) && a.Mask.AsSpan().SequenceEqual(b.Mask);
}
