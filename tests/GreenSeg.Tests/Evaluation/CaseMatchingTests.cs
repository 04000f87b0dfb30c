using GreenSeg.Common;
using GreenSeg.Evaluation;

namespace GreenSeg.Tests.Evaluation;

public class CaseMatchingTests
{
    [Theory]
    [InlineData("T2W_vol0005_maskpred.nii.gz", "T2W_vol0005")]
    [InlineData("T2W_vol0005_mask.nii.gz", "T2W_vol0005")]
    [InlineData("T2W_vol0005.nii.gz", "T2W_vol0005")]
    [InlineData("/data/run/T2W_vol0005_pred.nii", "T2W_vol0005")]
    [InlineData("DWI_vol0000_slice17_seg.nii.gz", "DWI_vol0000_slice17")]
    [InlineData("brain_label.NII.GZ", "brain")]
    [InlineData("brain_MASK.nii.gz", "brain_MASK")]          // suffixes are case-sensitive, as in StackNaming
    [InlineData("brain_seg_mask.nii.gz", "brain_seg")]   // only one suffix is removed
    [InlineData("brainmask.nii.gz", "brainmask")]        // a suffix needs its underscore
    [InlineData("_mask.nii.gz", "_mask")]                // never an empty name
    public void CaseNameDropsExtensionAndOneLabelSuffix(string fileName, string expected) =>
        CaseMatching.CaseName(fileName).ShouldBe(expected);

    [Fact]
    public void PairsByCaseNameAndListsTheRest()
    {
        var matching = CaseMatching.Match(
            ["p/b_maskpred.nii.gz", "p/a_maskpred.nii.gz", "p/extra_pred.nii.gz"],
            ["t/a_mask.nii.gz", "t/b.nii", "t/missing_mask.nii.gz"]);

        matching.Pairs.ShouldBe([new CasePair("a", "p/a_maskpred.nii.gz", "t/a_mask.nii.gz"), new CasePair("b", "p/b_maskpred.nii.gz", "t/b.nii")]);
        matching.UnmatchedPredictions.ShouldBe(["extra_pred.nii.gz"]);
        matching.UnmatchedTruths.ShouldBe(["missing_mask.nii.gz"]);
    }

    [Fact]
    public void TwoFilesOfOneCaseOnOneSideAreAnError()
    {
        var error = Should.Throw<GreenSegException>(() => CaseMatching.Match(["p/a.nii.gz"], ["t/a.nii.gz", "t/a_mask.nii.gz"]));
        error.Message.ShouldContain("a.nii.gz");
        error.Message.ShouldContain("a_mask.nii.gz");
    }
}
