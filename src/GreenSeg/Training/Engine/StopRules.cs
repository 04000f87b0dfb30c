using System.Globalization;
using GreenSeg.Energy;

namespace GreenSeg.Training;

/// <summary>What an epoch left for the stop rules: its index, validation loss and Dice, and the run's energy so far.</summary>
public sealed record EpochOutcome(int Epoch, double ValidationLoss, double ValidationDice, double CumulativeJoules);

/// <summary>
/// Decides after each epoch whether training ends, and why. A rule that keeps state across epochs saves it into the
/// checkpoint's <see cref="ResumeState"/> and restores it, so a resumed run stops where an uninterrupted one would.
/// </summary>
public interface IStopRule
{
    /// <summary>The reason to stop after this epoch, or null to go on.</summary>
    string? Observe(EpochOutcome outcome);

    void Restore(ResumeState state) { }

    ResumeState Save(ResumeState state) => state;
}

/// <summary>Early stopping on the validation metric the run selects by (not in a final run: nothing is held out).</summary>
public sealed class EarlyStoppingRule(TrainingOptions options) : IStopRule
{
    private readonly EarlyStopping _stopping = new(options.Stopping.EarlyStoppingPatience, options.Stopping.EarlyStoppingMinDelta, options.Stopping.SelectsByDice ? MetricMode.Max : MetricMode.Min);

    public string? Observe(EpochOutcome outcome)
    {
        if (options.Final) return null;
        _stopping.Update(options.Stopping.SelectsByDice ? outcome.ValidationDice : outcome.ValidationLoss);
        return _stopping.ShouldStop ? $"early stopping: no improvement of validation {options.Stopping.SelectBestBy.ToString().ToLowerInvariant()} for {options.Stopping.EarlyStoppingPatience} epochs" : null;
    }

    public void Restore(ResumeState state) => _stopping.Restore(state.EarlyStoppingBest, state.EpochsWithoutImprovement);

    public ResumeState Save(ResumeState state) =>
        state with { EarlyStoppingBest = _stopping.Best, EpochsWithoutImprovement = _stopping.EpochsWithoutImprovement };
}

/// <summary>Stops once the run's energy reaches the budget.</summary>
public sealed class EnergyBudgetRule(EnergyBudget budget, string text) : IStopRule
{
    public string? Observe(EpochOutcome outcome) => budget.IsExhausted(outcome.CumulativeJoules)
        ? string.Create(CultureInfo.InvariantCulture, $"energy budget {text} spent ({outcome.CumulativeJoules / 1000:0.0} kJ)") : null;
}

/// <summary>Stops when validation Dice gained per kJ over the last epochs falls below a threshold (<see cref="GreenStopRule"/>).</summary>
public sealed class DicePerKilojouleRule(GreenStopRule rule) : IStopRule
{
    public string? Observe(EpochOutcome outcome) =>
        rule.Observe(outcome.CumulativeJoules, outcome.ValidationDice) is { Stop: true } decision ? $"green stop: {decision.Reason}" : null;

    /// <summary>The rule keeps a window of past epochs: replay them.</summary>
    public void Restore(ResumeState state)
    {
        foreach (var (dice, kj) in state.DiceHistory.Zip(state.EnergyHistoryKj)) rule.Observe(kj * 1000, dice);
    }
}

/// <summary>The fixed schedule's end.</summary>
public sealed class EpochLimitRule(int epochs) : IStopRule
{
    public string? Observe(EpochOutcome outcome) => outcome.Epoch + 1 >= epochs ? $"completed {epochs} epochs" : null;
}

public static class StopRules
{
    /// <summary>The run's rules in the order they are asked: early stopping, energy budget, Dice per kJ, then the epoch limit.</summary>
    public static IReadOnlyList<IStopRule> From(TrainingOptions options)
    {
        var rules = new List<IStopRule> { new EarlyStoppingRule(options) };
        if (options.Stopping.EnergyBudget is { } budget) rules.Add(new EnergyBudgetRule(EnergyBudget.Parse(budget), budget));
        if (options.Stopping.GreenStopDicePerKj is double threshold) rules.Add(new DicePerKilojouleRule(new GreenStopRule(options.Stopping.GreenStopWindow, threshold)));
        rules.Add(new EpochLimitRule(options.Schedule.Epochs));
        return rules;
    }

    /// <summary>Every rule observes the epoch (each keeps its own history); the first reason wins.</summary>
    public static string? Decide(IReadOnlyList<IStopRule> rules, EpochOutcome outcome)
    {
        string? reason = null;
        foreach (var rule in rules)
        {
            string? said = rule.Observe(outcome);
            reason ??= said;
        }
        return reason;
    }
}
