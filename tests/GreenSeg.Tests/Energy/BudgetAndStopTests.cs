using GreenSeg.Common;
using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class BudgetAndStopTests
{
    [Theory]
    [InlineData("50kJ", 50_000)]
    [InlineData("2.5Wh", 9_000)]
    [InlineData("0.1kWh", 360_000)]
    [InlineData("0.1 KWh", 360_000)]
    [InlineData(" 1200 J ", 1_200)]
    [InlineData("1.5MJ", 1_500_000)]
    [InlineData("1e3kj", 1_000_000)]
    [InlineData("0.002MWh", 7_200_000)]
    public void Budgets_parse_to_joules(string text, double joules) =>
        EnergyBudget.Parse(text).Joules.ShouldBe(joules, joules * 1e-12);

    [Theory]
    [InlineData("", "expected a positive number")]
    [InlineData("50", "expected a positive number")]
    [InlineData("-5kJ", "expected a positive number")]
    [InlineData("0kJ", "positive")]
    [InlineData("5mJ", "unknown unit 'mJ'")]
    [InlineData("5mWh", "unknown unit 'mWh'")]
    [InlineData("5 cal", "unknown unit 'cal'")]
    [InlineData("5,5kJ", "expected a positive number")]
    public void Bad_budgets_say_what_is_wrong(string text, string problem) =>
        Should.Throw<GreenSegException>(() => EnergyBudget.Parse(text)).Message.ShouldContain(problem);

    [Fact]
    public void Budget_is_exhausted_once_spent()
    {
        var budget = EnergyBudget.Parse("50kJ");
        budget.IsExhausted(49_999.9).ShouldBeFalse();
        budget.IsExhausted(50_000).ShouldBeTrue();
        budget.Remaining(20_000).ShouldBe(30_000);
        budget.Remaining(80_000).ShouldBe(0);
        budget.ToString().ShouldBe("50 kJ (13.8889 Wh)");
    }

    [Fact]
    public void Green_stop_waits_for_a_full_window_then_compares_dice_gain_per_kilojoule()
    {
        var rule = new GreenStopRule(windowEpochs: 2, minDicePerKilojoule: 0.008);
        rule.Observe(10_000, 0.50).Stop.ShouldBeFalse();
        rule.Observe(20_000, 0.60).Stop.ShouldBeFalse();
        // Over epochs 1→3: best Dice 0.50 → 0.70 for 20 kJ = 0.01 per kJ ≥ 0.008: continue.
        var third = rule.Observe(30_000, 0.70);
        third.Stop.ShouldBeFalse();
        third.DicePerKilojoule!.Value.ShouldBe(0.01, 1e-12);
        // Over epochs 2→4: 0.60 → 0.72 for 20 kJ = 0.006 per kJ < 0.008: stop.
        var fourth = rule.Observe(40_000, 0.72);
        fourth.Stop.ShouldBeTrue();
        fourth.DicePerKilojoule!.Value.ShouldBe(0.006, 1e-12);
        fourth.Reason.ShouldContain("stop");
    }

    [Fact]
    public void Green_stop_uses_best_dice_so_one_bad_epoch_does_not_count_as_a_loss()
    {
        var rule = new GreenStopRule(1, 0.0);
        rule.Observe(1_000, 0.8);
        var dip = rule.Observe(2_000, 0.3);   // best stays 0.8: gain 0, not negative
        dip.DicePerKilojoule.ShouldBe(0);
        dip.Stop.ShouldBeFalse();             // 0 is not below a threshold of 0
    }

    [Fact]
    public void Green_stop_rejects_nonsense()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new GreenStopRule(0, 0.01));
        Should.Throw<ArgumentOutOfRangeException>(() => new GreenStopRule(3, -1));
        var rule = new GreenStopRule(1, 0.01);
        rule.Observe(5_000, 0.5);
        Should.Throw<ArgumentException>(() => rule.Observe(4_000, 0.6));
        rule.Observe(5_000, 0.9).Reason.ShouldContain("no energy spent");
    }
}
