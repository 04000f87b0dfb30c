using GreenSeg.Common;

namespace GreenSeg.Evaluation;

/// <summary>
/// Candidate minus reference on the same cases (e.g. each held-out stack under two recipes): the mean difference, a
/// bootstrap interval for it, how many cases went each way, and a two-sided sign-flip permutation test of "no
/// difference". Paired, because a case's difficulty dominates its score (one stack scores 0.0 or 0.9 whatever the
/// recipe), so the per-case differences carry what two means over cases hide.
/// </summary>
/// <param name="Within">Cases whose difference is within <see cref="TieTolerance"/> either way.</param>
/// <param name="PValue">Share of sign assignments whose mean difference is at least as far from 0 as the observed one.</param>
/// <param name="ExactPValue">Every sign assignment was enumerated (up to <see cref="MaxExactCases"/> cases), else a seeded Monte Carlo.</param>
public sealed record PairedDifferences(int Count, double MeanDifference, double IntervalLow, double IntervalHigh,
    int Better, int Worse, int Within, double PValue, bool ExactPValue)
{
    /// <summary>A difference this small (in Dice) counts as neither better nor worse.</summary>
    public const double TieTolerance = 0.01;
    public const double IntervalLevel = 0.95;
    public const int BootstrapResamples = 10_000;
    /// <summary>Up to this many cases all 2^n sign assignments are enumerated (2^20 ≈ 10^6 sums).</summary>
    public const int MaxExactCases = 20;
    public const int MonteCarloAssignments = 200_000;

    /// <summary>The comparison of paired differences (candidate − reference per case); seeded, so it reads the same every time.</summary>
    public static PairedDifferences Of(IReadOnlyList<double> differences, ulong seed = 0)
    {
        if (differences.Count == 0) throw new ArgumentException("no paired cases to compare", nameof(differences));
        if (differences.Any(d => !double.IsFinite(d))) throw new ArgumentException("paired differences must be finite", nameof(differences));
        var random = new DeterministicRandom(seed);
        var (low, high) = BootstrapInterval(differences, random);
        bool exact = differences.Count <= MaxExactCases;
        return new PairedDifferences(differences.Count, differences.Average(), low, high,
            differences.Count(d => d > TieTolerance), differences.Count(d => d < -TieTolerance), differences.Count(d => Math.Abs(d) <= TieTolerance),
            exact ? ExactSignFlipP(differences) : MonteCarloSignFlipP(differences, random), exact);
    }

    /// <summary>Percentile bootstrap of the mean over cases resampled with replacement.</summary>
    private static (double Low, double High) BootstrapInterval(IReadOnlyList<double> differences, DeterministicRandom random)
    {
        int n = differences.Count;
        var means = new double[BootstrapResamples];
        for (int b = 0; b < means.Length; b++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += differences[random.NextInt(0, n - 1)];
            means[b] = sum / n;
        }
        double tail = (1 - IntervalLevel) / 2 * 100;
        return (Statistics.Percentile(means, tail), Statistics.Percentile(means, 100 - tail));
    }

    /// <summary>
    /// Under "no difference" each case's difference is as likely negated: the p-value is the share of the 2^n sign
    /// assignments whose |sum| reaches the observed |sum|, visited in Gray-code order (one sign flips per step).
    /// </summary>
    private static double ExactSignFlipP(IReadOnlyList<double> differences)
    {
        int n = differences.Count;
        double observed = Math.Abs(differences.Sum());
        double tolerance = Tolerance(differences);
        var signs = new int[n];
        Array.Fill(signs, 1);
        double sum = differences.Sum();
        long reaching = 0;
        long assignments = 1L << n;
        for (long step = 0; step < assignments; step++)
        {
            if (Math.Abs(sum) >= observed - tolerance) reaching++;
            if (step + 1 == assignments) break;
            int flip = System.Numerics.BitOperations.TrailingZeroCount(step + 1);
            sum -= 2 * signs[flip] * differences[flip];
            signs[flip] = -signs[flip];
        }
        return (double)reaching / assignments;
    }

    /// <summary>Random sign assignments; the observed one counts among them, so p is never 0.</summary>
    private static double MonteCarloSignFlipP(IReadOnlyList<double> differences, DeterministicRandom random)
    {
        double observed = Math.Abs(differences.Sum());
        double tolerance = Tolerance(differences);
        long reaching = 0;
        for (int draw = 0; draw < MonteCarloAssignments; draw++)
        {
            double sum = 0;
            foreach (double d in differences) sum += random.Chance(0.5) ? d : -d;
            if (Math.Abs(sum) >= observed - tolerance) reaching++;
        }
        return (reaching + 1.0) / (MonteCarloAssignments + 1.0);
    }

    /// <summary>Sums of the same magnitudes in another order differ by rounding: equal within this counts as reaching.</summary>
    private static double Tolerance(IReadOnlyList<double> differences) => 1e-9 * Math.Max(1, differences.Sum(Math.Abs));
}
