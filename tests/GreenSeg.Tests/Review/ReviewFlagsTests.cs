using GreenSeg.Common;
using GreenSeg.Review;
using Shouldly;

namespace GreenSeg.Tests.Review;

public class ReviewFlagsTests
{
    private static readonly ReviewOptions Options = new();

    private static MaskFacts Facts(double ml, int components = 1, bool edge = false) => new(ml > 0 ? 1000 : 0, ml, components, edge);

    [Fact]
    public void Ordinary_masks_raise_no_flag()
    {
        var flags = ReviewFlags.Assign([Facts(200), Facts(250), Facts(180), Facts(300)], Options);
        flags.ShouldAllBe(f => f.Count == 0);
    }

    [Fact]
    public void Each_flag_fires_on_its_crafted_case()
    {
        var flags = ReviewFlags.Assign(
        [
            Facts(200), Facts(220), Facts(240), Facts(0), Facts(900), Facts(210, components: 3), Facts(230, edge: true), Facts(60),
        ], Options);
        flags[3].ShouldBe([ReviewFlag.EmptyMask]);
        flags[4].ShouldBe([ReviewFlag.VolumeOutlier, ReviewFlag.VolumeOutsideFetalRange]);
        flags[5].ShouldBe([ReviewFlag.SeveralComponents]);
        flags[6].ShouldBe([ReviewFlag.TouchesFieldOfViewEdge]);
        flags[7].ShouldBe([ReviewFlag.VolumeOutlier]); // 60 ml is a plausible fetal brain, but not beside 200-240 ml ones
        flags.Take(3).ShouldAllBe(f => f.Count == 0);
    }

    [Fact]
    public void Outliers_need_enough_other_stacks()
    {
        ReviewFlags.Assign([Facts(100), Facts(400), Facts(0)], Options).ShouldAllBe(f => !f.Contains(ReviewFlag.VolumeOutlier));
        ReviewFlags.Assign([Facts(100), Facts(400), Facts(410), Facts(420)], Options)[0].ShouldContain(ReviewFlag.VolumeOutlier);
    }

    [Fact]
    public void A_stack_that_could_not_be_read_has_no_flags_but_counts_for_nothing()
    {
        var flags = ReviewFlags.Assign([null, Facts(200), Facts(210), Facts(220), Facts(700)], Options);
        flags[0].ShouldBeEmpty();
        flags[4].ShouldContain(ReviewFlag.VolumeOutlier);
    }

    [Fact]
    public void Facts_count_voxels_volume_edge_and_components()
    {
        var grid = new VoxelGrid(6, 5, 3, 2, 2, 3); // 12 µl voxels
        var mask = new byte[grid.VoxelCount];
        mask[grid.Index(2, 2, 0)] = 1;
        mask[grid.Index(2, 2, 1)] = 1;
        mask[grid.Index(4, 1, 2)] = 1;
        var facts = MaskFacts.Of(mask, grid);
        facts.Voxels.ShouldBe(3);
        facts.VolumeMl.ShouldBe(3 * 0.012, 1e-12);
        facts.Components.ShouldBe(2); // (2,2,0)-(2,2,1) touch; (4,1,2) is two voxels away
        facts.TouchesEdge.ShouldBeFalse();
        mask[grid.Index(5, 3, 1)] = 1;
        MaskFacts.Of(mask, grid).TouchesEdge.ShouldBeTrue();
        MaskFacts.Of(mask, grid, componentsBeforePostProcessing: 7).Components.ShouldBe(7);
        MaskFacts.Of(new byte[grid.VoxelCount], grid).ShouldBe(new MaskFacts(0, 0, 0, false));
    }

    [Fact]
    public void Every_flag_has_a_label_and_a_description()
    {
        foreach (var flag in Enum.GetValues<ReviewFlag>())
        {
            ReviewFlags.Label(flag).ShouldNotBeNullOrWhiteSpace();
            ReviewFlags.Describe(flag, Options).ShouldNotBeNullOrWhiteSpace();
        }
    }

    [Fact]
    public void Options_are_checked()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new ReviewOptions { OutlierRatio = 1 }.Validate());
        Should.Throw<ArgumentOutOfRangeException>(() => new ReviewOptions { PlausibleVolumeMl = (500, 100) }.Validate());
        Should.Throw<ArgumentOutOfRangeException>(() => new ReviewOptions { MinStacksForOutliers = 1 }.Validate());
        Should.Throw<ArgumentOutOfRangeException>(() => new ReviewOptions { Mosaic = new MosaicOptions { Columns = 0 } }.Validate());
    }
}
