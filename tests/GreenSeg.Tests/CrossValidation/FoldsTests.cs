using GreenSeg.Common;
using GreenSeg.CrossValidation;
using GreenSeg.Data;

namespace GreenSeg.Tests.CrossValidation;

public sealed class FoldsTests
{
    /// <summary>The real data's shape: 7 DWI, 2 FMRI, 4 T2W stacks.</summary>
    private static readonly IReadOnlyList<TrainingStack> Stacks =
    [
        .. Enumerable.Range(0, 7).Select(i => Stack("DWI", i)),
        .. Enumerable.Range(0, 2).Select(i => Stack("FMRI", i)),
        .. Enumerable.Range(0, 4).Select(i => Stack("T2W", i)),
    ];

    private static TrainingStack Stack(string sequence, int volume) =>
        new($"{sequence}_vol{volume:D4}", sequence, [new SliceRef($"{sequence}{volume}.nii", null, 0)]);

    public static TheoryData<string> Schemes => new() { "2", "3", "5", "13", "sequence", "stack" };

    [Theory]
    [MemberData(nameof(Schemes))]
    public void FoldsNeverShareAStackAndTestEveryStackOnce(string scheme)
    {
        var folds = Folds.Make(Stacks, FoldSpec.Parse(scheme), seed: 42);

        folds.SelectMany(f => f.Test).Select(s => s.Id).Order().ShouldBe(Stacks.Select(s => s.Id).Order());
        foreach (var fold in folds)
        {
            fold.Train.Select(s => s.Id).Intersect(fold.Test.Select(s => s.Id)).ShouldBeEmpty();
            (fold.Train.Count + fold.Test.Count).ShouldBe(Stacks.Count);
        }
        folds.Select(f => f.Name).Distinct().Count().ShouldBe(folds.Count);
    }

    [Fact]
    public void KFoldSpreadsEverySequenceAndBalancesFoldSizes()
    {
        var folds = Folds.Make(Stacks, FoldSpec.Parse("5"), seed: 42);

        folds.Count.ShouldBe(5);
        (folds.Max(f => f.Test.Count) - folds.Min(f => f.Test.Count)).ShouldBeLessThanOrEqualTo(1);
        // 7 DWI stacks over 5 folds: every fold tests at least one DWI, none more than two.
        folds.Select(f => f.Test.Count(s => s.Sequence == "DWI")).ShouldAllBe(count => count == 1 || count == 2);
        // The two FMRI stacks land in different folds, so each is tested by a model that saw the other.
        folds.Count(f => f.Test.Any(s => s.Sequence == "FMRI")).ShouldBe(2);
    }

    [Fact]
    public void KFoldIsSeeded()
    {
        string Describe(int seed) => string.Join("|", Folds.Make(Stacks, FoldSpec.Parse("5"), seed).Select(f => string.Join(",", f.Test.Select(s => s.Id))));

        Describe(42).ShouldBe(Describe(42));
        Enumerable.Range(1, 5).Select(Describe).Distinct().Count().ShouldBeGreaterThan(1);
    }

    [Fact]
    public void LeaveOneSequenceOutTestsAWholeSequenceOnAModelThatNeverSawIt()
    {
        var folds = Folds.Make(Stacks, FoldSpec.Parse("sequence"), seed: 1);

        folds.Select(f => f.Name).ShouldBe(["DWI", "FMRI", "T2W"]);
        foreach (var fold in folds)
        {
            fold.Test.ShouldAllBe(s => s.Sequence == fold.Name);
            fold.Train.ShouldAllBe(s => s.Sequence != fold.Name);
        }
    }

    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("five")]
    [InlineData("")]
    public void ABadFoldsValueIsAClearError(string text) =>
        Should.Throw<GreenSegException>(() => FoldSpec.Parse(text)).Message.ShouldContain("folds");

    [Fact]
    public void MoreFoldsThanStacksOrASingleSequenceIsRefused()
    {
        Should.Throw<GreenSegException>(() => Folds.Make(Stacks, FoldSpec.Parse("14"), 1)).Message.ShouldContain("only 13 stacks");
        Should.Throw<GreenSegException>(() => Folds.Make(Stacks.Where(s => s.Sequence == "DWI").ToList(), FoldSpec.Parse("sequence"), 1))
            .Message.ShouldContain("at least two folds");
    }

    [Fact]
    public void FoldSpecRoundTripsThroughItsText()
    {
        foreach (string text in new[] { "5", "sequence", "stack" }) FoldSpec.Parse(text).ToString().ShouldBe(text);
    }
}
