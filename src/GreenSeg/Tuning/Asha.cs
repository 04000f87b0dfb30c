namespace GreenSeg.Tuning;

/// <summary>What the promotion rule knows of a trial: its score at each rung it completed, and whether it can train on.</summary>
/// <param name="Scores">One entry per rung reached, in rung order (a trial that ended on its own before a rung's end has its last score there).</param>
/// <param name="CanContinue">Paused at its last rung, neither ended nor failed: a promotion can resume it.</param>
public sealed record AshaTrial(int Id, IReadOnlyList<double> Scores, bool CanContinue)
{
    /// <summary>The highest rung with a score; -1 before the first.</summary>
    public int CompletedRung => Scores.Count - 1;
}

/// <summary>A job ASHA hands out: a trial to take to a rung.</summary>
public sealed record AshaPromotion(int Trial, int FromRung, int ToRung);

/// <summary>
/// Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020),
/// its promotion rule as pure logic. Whenever a worker is free: from the second-highest rung down, look at rung k's
/// completed trials ranked by score (ties: the earlier trial); of the top ⌊n/η⌋ of them, the best one not yet promoted
/// (and able to continue) goes up to rung k+1. When no rung has such a trial, a new trial starts at the bottom rung.
/// With one worker, as here, trials run one job at a time, and the rule is applied after every job, so promotions
/// happen as soon as a rung has enough results instead of waiting for the whole rung (synchronous successive halving).
/// </summary>
public static class Asha
{
    /// <summary>The promotion ASHA makes now, or null when none is due (then a new trial starts, if the search allows one).</summary>
    public static AshaPromotion? NextPromotion(IReadOnlyList<AshaTrial> trials, int rungs, int eta)
    {
        if (eta < 2) throw new ArgumentOutOfRangeException(nameof(eta), eta, "the reduction factor must be at least 2");
        for (int rung = rungs - 2; rung >= 0; rung--)
        {
            foreach (var trial in Top(trials, rung, eta))
                if (trial.CanContinue && trial.CompletedRung == rung) return new AshaPromotion(trial.Id, rung, rung + 1);
        }
        return null;
    }

    /// <summary>The top ⌊n/η⌋ of the n trials that completed <paramref name="rung"/>, best first: the ones the rule promotes.</summary>
    public static IReadOnlyList<AshaTrial> Top(IReadOnlyList<AshaTrial> trials, int rung, int eta)
    {
        var ranked = Ranked(trials, rung);
        return [.. ranked.Take(ranked.Count / eta)];
    }

    /// <summary>The trials that completed <paramref name="rung"/>, best score first (a NaN score ranks last), ties by trial id.</summary>
    public static IReadOnlyList<AshaTrial> Ranked(IReadOnlyList<AshaTrial> trials, int rung) =>
        [.. trials.Where(t => t.Scores.Count > rung)
            .OrderByDescending(t => double.IsNaN(t.Scores[rung]) ? double.NegativeInfinity : t.Scores[rung])
            .ThenBy(t => t.Id)];
}
