using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Studies.Reporting;
using GreenSeg.Training;

namespace GreenSeg.Tests.Studies;

public class StudyResultsTests
{
    [Fact]
    public void Pareto_front_keeps_the_points_nothing_beats_on_both_counts()
    {
        // energy (lower is better), Dice (higher is better)
        double[] energy = [10, 4, 6, 4, 12, 6, 3];
        double[] dice = [0.90, 0.80, 0.85, 0.70, 0.95, 0.85, 0.60];
        // 3 (cheapest), 1 (0.80 for 4; beats 3 which has 0.70 for 4), 2 and 5 (tie: 0.85 for 6, neither beats the other),
        // 0 (0.90 for 10), 4 (best Dice). Dominated: 3 (by 1).
        ParetoFront.Indices(energy, dice).ShouldBe([6, 1, 2, 5, 0, 4]);
    }

    [Fact]
    public void Pareto_front_of_one_or_no_point()
    {
        ParetoFront.Indices([5.0], [0.5]).ShouldBe([0]);
        ParetoFront.Indices([], []).ShouldBeEmpty();
        ParetoFront.Indices([1.0, 2.0], [0.9, 0.8]).ShouldBe([0], "cheaper and better dominates");
        Should.Throw<ArgumentException>(() => ParetoFront.Indices([1.0], []));
    }

    private static RunSummary Summary(string name, double secondsPerEpoch, double kjPerEpoch, double totalKj, double dice) => new()
    {
        Name = name, SecondsPerEpoch = secondsPerEpoch, KilojoulesPerEpoch = kjPerEpoch, TotalKilojoules = totalKj, DiceMean = dice,
        Epochs = [new EpochMetrics { Epoch = 0, IsBest = true }],
    };

    [Fact]
    public void Speed_up_and_energy_saving_against_the_baseline()
    {
        var baseline = Summary("baseline", secondsPerEpoch: 120, kjPerEpoch: 4.0, totalKj: 12.0, dice: 0.80);
        var faster = Summary("+bf16", secondsPerEpoch: 48, kjPerEpoch: 1.5, totalKj: 4.8, dice: 0.81);
        var c = BaselineComparison.Of(baseline, faster);
        c.Speedup!.Value.ShouldBe(2.5, 1e-12);               // 120 s / 48 s
        c.EpochEnergySaving!.Value.ShouldBe(0.625, 1e-12);   // 1 - 1.5 / 4
        c.TotalEnergySaving!.Value.ShouldBe(0.6, 1e-12);     // 1 - 4.8 / 12
        c.DiceChange!.Value.ShouldBe(0.01, 1e-12);

        // A technique with a one-off cost (LR finder): the same epochs, but more energy in total.
        var finder = Summary("+lr-finder", secondsPerEpoch: 120, kjPerEpoch: 4.0, totalKj: 15.0, dice: 0.86);
        var f = BaselineComparison.Of(baseline, finder);
        f.Speedup!.Value.ShouldBe(1.0, 1e-12);
        f.EpochEnergySaving!.Value.ShouldBe(0.0, 1e-12);
        f.TotalEnergySaving!.Value.ShouldBe(-0.25, 1e-12);  // 25% more energy
        ReportFormat.Percent(f.TotalEnergySaving, signed: true).ShouldBe("-25.0%");
        ReportFormat.Percent(c.EpochEnergySaving, signed: true).ShouldBe("+62.5%");
        ReportFormat.Factor(c.Speedup).ShouldBe("2.50x");
    }

    [Fact]
    public void Missing_figures_give_no_comparison_rather_than_a_wrong_one()
    {
        var baseline = Summary("baseline", 100, 0, 0, 0.5);
        var run = Summary("x", 0, 1, 1, 0.6) with { DiceMean = null };
        var c = BaselineComparison.Of(baseline, run);
        c.Speedup.ShouldBeNull("a run with 0 s per epoch has no speed-up");
        c.EpochEnergySaving.ShouldBeNull("no saving against a baseline without energy");
        c.TotalEnergySaving.ShouldBeNull();
        c.DiceChange.ShouldBeNull();
        ReportFormat.Percent(c.TotalEnergySaving).ShouldBe("-");
    }

    [Fact]
    public void A_summary_takes_the_selected_epoch_and_averages_time_and_energy()
    {
        var stored = new StoredRun { Name = "r", OptionsYaml = "", Status = RunStatus.Finished, TotalEnergyKj = 7.5, Co2Grams = 1.25 };
        EpochMetrics Row(int epoch, double dice, bool best, double seconds, double joules, double wait) => new()
        {
            Epoch = epoch, ValidationDice = dice, ValidationDiceSd = dice / 10, IsBest = best, EpochSeconds = seconds, EnergyJoules = joules,
            DataWaitSeconds = wait, SlicesPerSecond = 10 * (epoch + 1), EnergyOrigin = "cpu=measured;gpu=none;ram=measured",
        };
        var summary = RunSummary.From(stored, [Row(0, 0.5, true, 10, 2000, 1), Row(1, 0.7, true, 20, 3000, 2), Row(2, 0.6, false, 30, 1000, 0)]);
        summary.BestEpoch.ShouldBe(1);
        summary.DiceMean.ShouldBe(0.7);
        summary.DiceSd!.Value.ShouldBe(0.07, 1e-12);
        summary.SecondsPerEpoch.ShouldBe(20);
        summary.KilojoulesPerEpoch!.Value.ShouldBe(2.0, 1e-12);
        summary.TotalKilojoules.ShouldBe(7.5, "the whole run's energy, not the epochs' sum (6 kJ)");
        summary.DicePerKilojoule!.Value.ShouldBe(0.7 / 7.5, 1e-12);
        summary.DataWaitShare!.Value.ShouldBe(3.0 / 60, 1e-12);
        summary.SlicesPerSecond.ShouldBe(20);
        summary.Co2Grams.ShouldBe(1.25);
        summary.EnergyEstimated.ShouldBeFalse();
        summary.IsComplete.ShouldBeTrue();
    }

    [Fact]
    public void Only_finished_runs_are_compared_and_placed_on_the_front()
    {
        var results = new StudyResults
        {
            DatabasePath = "study.db", Name = "s", BaselineRun = "baseline",
            Runs =
            [
                Summary("baseline", 100, 4, 12, 0.8),
                Summary("done", 50, 2, 6, 0.8),
                Summary("stopped", 50, 2, 2, 0.9) with { Status = RunStatus.Interrupted },
                Summary("failed", 50, 2, 1, 0.95) with { Status = RunStatus.Failed },
            ],
        };
        results.Comparisons.Select(c => c.Run).ShouldBe(["done"]);
        results.ParetoRuns.Select(r => r.Name).ShouldBe(["done"], "done beats the baseline: same Dice for half the energy");
        (results with { BaselineRun = "stopped" }).Comparisons.ShouldBeEmpty("no comparison before the baseline has finished");
    }
}
