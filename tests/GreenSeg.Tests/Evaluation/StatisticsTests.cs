using GreenSeg.Evaluation;

namespace GreenSeg.Tests.Evaluation;

public class StatisticsTests
{
    [Theory]
    [InlineData(95, 3.85)]   // rank 0.95·3 = 2.85 → 3 + 0.85·(4 − 3)
    [InlineData(50, 2.5)]
    [InlineData(0, 1.0)]
    [InlineData(100, 4.0)]
    public void PercentileInterpolatesLinearlyBetweenRanks(double percentile, double expected) =>
        Statistics.Percentile([4, 1, 3, 2], percentile).ShouldBe(expected, 1e-12);

    [Fact]
    public void SampleStandardDeviationDividesByNMinusOne()
    {
        // Mean 5, squared deviations sum to 32.
        Statistics.SampleStandardDeviation([2, 4, 4, 4, 5, 5, 7, 9])!.Value.ShouldBe(Math.Sqrt(32.0 / 7), 1e-12);
        Statistics.SampleStandardDeviation([3.0]).ShouldBeNull();
    }

    [Fact]
    public void SummaryLeavesUndefinedValuesOutAndCountsThem()
    {
        CaseMetrics Case(double dice, double? hd95) => new(dice, dice, hd95, hd95, 1, 1, 0, 1, 0, 0);
        var summary = MetricsSummary.From([Case(0.9, 2), Case(0.7, 4), Case(0.0, null)]);

        summary.Cases.ShouldBe(3);
        var dice = summary[CaseMetric.Dice];
        (dice.N, dice.Excluded).ShouldBe((3, 0));
        dice.Mean!.Value.ShouldBe(1.6 / 3, 1e-12);
        dice.Median!.Value.ShouldBe(0.7, 1e-12);
        dice.StandardDeviation!.Value.ShouldBe(Math.Sqrt((Math.Pow(0.9 - 1.6 / 3, 2) + Math.Pow(0.7 - 1.6 / 3, 2) + Math.Pow(1.6 / 3, 2)) / 2), 1e-12);

        var hd95 = summary[CaseMetric.Hd95Mm];
        (hd95.N, hd95.Excluded).ShouldBe((2, 1));
        (hd95.Mean, hd95.Median).ShouldBe((3.0, 3.0));
        summary.Metrics.Keys.ShouldBe(CaseMetric.All.Select(m => m.Key));
    }

    [Fact]
    public void SummaryOfOnlyUndefinedValuesHasNoStatistics()
    {
        var summary = MetricsSummary.From([new CaseMetrics(0, 0, null, null, 1, 0, null, 0, 1, 0)]);
        summary[CaseMetric.AssdMm].ShouldBe(new MetricStatistics(null, null, null, 0, 1));
    }
}
