using CsCheck;
using GreenSeg.Evaluation;

namespace GreenSeg.Tests.Evaluation;

public sealed class PairedDifferencesTests
{
    [Fact]
    public void FiveStacksAllGainingEquallyReachOnlyTheirOwnAndTheMirroredAssignment()
    {
        var result = PairedDifferences.Of([0.1, 0.1, 0.1, 0.1, 0.1]);

        result.PValue.ShouldBe(2.0 / 32, 1e-12);
        result.ExactPValue.ShouldBeTrue();
        result.MeanDifference.ShouldBe(0.1, 1e-12);
        result.IntervalLow.ShouldBe(0.1, 1e-12);
        result.IntervalHigh.ShouldBe(0.1, 1e-12);
        (result.Better, result.Worse, result.Within).ShouldBe((5, 0, 0));
    }

    [Fact]
    public void GainsThatCancelLossesAreNoEvidence()
    {
        var result = PairedDifferences.Of([0.4, -0.4, 0.005, -0.2, 0.2]);

        result.MeanDifference.ShouldBe(0.001, 1e-12);
        result.PValue.ShouldBeGreaterThan(0.9);
        (result.Better, result.Worse, result.Within).ShouldBe((2, 2, 1));
        result.IntervalLow.ShouldBeLessThan(0);
        result.IntervalHigh.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void ExactPValueIsTheShareOfSignAssignmentsReachingTheObservedSum()
    {
        var cases = Gen.Double[-1, 1].Array[1, 12];
        cases.Sample(differences =>
        {
            var result = PairedDifferences.Of(differences);
            result.PValue.ShouldBe(BruteForceP(differences), 1e-12);
            result.IntervalLow.ShouldBeLessThanOrEqualTo(result.MeanDifference + 1e-12);
            result.IntervalHigh.ShouldBeGreaterThanOrEqualTo(result.MeanDifference - 1e-12);
            (result.Better + result.Worse + result.Within).ShouldBe(differences.Length);
        }, iter: 200);
    }

    [Fact]
    public void BeyondTwentyStacksAMonteCarloEstimateCloseToTheExactValue()
    {
        var random = new Random(3);
        double[] differences = [.. Enumerable.Range(0, 21).Select(_ => random.NextDouble() - 0.4)];

        var result = PairedDifferences.Of(differences);

        result.ExactPValue.ShouldBeFalse();
        result.PValue.ShouldBe(BruteForceP(differences), 0.01);
    }

    [Fact]
    public void TheSameDifferencesGiveTheSameIntervalEveryTime()
    {
        double[] differences = [0.3, -0.1, 0.05, 0.2, -0.02, 0.12, 0.4];

        PairedDifferences.Of(differences).ShouldBe(PairedDifferences.Of(differences));
    }

    [Fact]
    public void NothingToCompareIsRefused()
    {
        Should.Throw<ArgumentException>(() => PairedDifferences.Of([]));
        Should.Throw<ArgumentException>(() => PairedDifferences.Of([0.1, double.NaN]));
    }

    /// <summary>The definition: every sign assignment's |sum| against the observed |sum|.</summary>
    private static double BruteForceP(double[] differences)
    {
        double observed = Math.Abs(differences.Sum());
        double tolerance = 1e-9 * Math.Max(1, differences.Sum(Math.Abs));
        long reaching = 0, assignments = 1L << differences.Length;
        for (long mask = 0; mask < assignments; mask++)
        {
            double sum = 0;
            for (int i = 0; i < differences.Length; i++) sum += (mask >> i & 1) == 0 ? differences[i] : -differences[i];
            if (Math.Abs(sum) >= observed - tolerance) reaching++;
        }
        return (double)reaching / assignments;
    }
}
