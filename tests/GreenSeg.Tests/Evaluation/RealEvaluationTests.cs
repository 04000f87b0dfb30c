using GreenSeg.Evaluation;

namespace GreenSeg.Tests.Evaluation;

public class RealEvaluationTests
{
    [RealDataFact]
    public void RealSliceMasksAgreePerfectlyWithThemselves()
    {
        string masks = Path.Combine(RealData.E2mipFetalOrThrow, "train_slice", "masks");

        var report = Evaluator.EvaluateFolders(masks, masks);

        report.Cases.Count.ShouldBe(Directory.GetFiles(masks, "*.nii*").Length);
        report.Failed.ShouldBeEmpty();
        report.Cases.ShouldAllBe(c => c.Grid!.Value.SizeZ == 1);
        var dice = report.Summary[CaseMetric.Dice];
        (dice.Mean, dice.StandardDeviation, dice.N).ShouldBe((1.0, 0.0, report.Cases.Count));
        report.Summary[CaseMetric.Hd95Mm].Mean.ShouldBe(0);
    }
}
