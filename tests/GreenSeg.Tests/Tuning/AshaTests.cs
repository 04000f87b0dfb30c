using GreenSeg.Tuning;

namespace GreenSeg.Tests.Tuning;

/// <summary>The promotion rule alone, on made-up scores: no training.</summary>
public class AshaTests
{
    private static AshaTrial Paused(int id, params double[] scores) => new(id, scores, CanContinue: true);

    [Fact]
    public void Nothing_goes_up_until_a_rung_has_eta_results()
    {
        Asha.NextPromotion([Paused(1, 0.5)], rungs: 3, eta: 2).ShouldBeNull();
        Asha.NextPromotion([Paused(1, 0.5), Paused(2, 0.9)], rungs: 3, eta: 3).ShouldBeNull();
        Asha.NextPromotion([Paused(1, 0.5), Paused(2, 0.9)], rungs: 3, eta: 2).ShouldBe(new AshaPromotion(2, 0, 1));
    }

    [Fact]
    public void Only_the_top_one_in_eta_of_a_rung_goes_up_best_first_and_once()
    {
        // Six trials at rung 0, eta 3: the top two (0.9 and 0.8) go up, in that order; 0.7 does not.
        var trials = new List<AshaTrial> { Paused(1, 0.7), Paused(2, 0.9), Paused(3, 0.1), Paused(4, 0.8), Paused(5, 0.2), Paused(6, 0.3) };
        Asha.NextPromotion(trials, rungs: 3, eta: 3).ShouldBe(new AshaPromotion(2, 0, 1));

        trials[1] = new AshaTrial(2, [0.9], CanContinue: false); // now training to rung 1
        Asha.NextPromotion(trials, 3, 3).ShouldBe(new AshaPromotion(4, 0, 1));

        trials[3] = Paused(4, 0.8, 0.85);
        trials[1] = Paused(2, 0.9, 0.95);
        // Rung 1 has two results: fewer than eta, so nobody goes to rung 2; rung 0's top two are both promoted already.
        Asha.NextPromotion(trials, 3, 3).ShouldBeNull();
        Asha.Top(trials, 0, 3).Select(t => t.Id).ShouldBe([2, 4]);
    }

    [Fact]
    public void Higher_rungs_are_served_first()
    {
        var trials = new List<AshaTrial>
        {
            Paused(1, 0.5, 0.6), Paused(2, 0.6, 0.7), Paused(3, 0.9), Paused(4, 0.1), Paused(5, 0.2), Paused(6, 0.3),
        };
        // Rung 1 (two results, eta 2) promotes trial 2 before rung 0 promotes trial 3.
        Asha.NextPromotion(trials, rungs: 3, eta: 2).ShouldBe(new AshaPromotion(2, 1, 2));
    }

    [Fact]
    public void A_trial_that_ended_keeps_its_place_in_the_ranking_but_is_not_promoted()
    {
        var trials = new List<AshaTrial> { new(1, [0.95], CanContinue: false), Paused(2, 0.9), Paused(3, 0.1), Paused(4, 0.2) };
        // eta 2, four results: the top two are trial 1 (ended on its own) and trial 2; trial 1 cannot go on, trial 2 goes up.
        Asha.NextPromotion(trials, 3, 2).ShouldBe(new AshaPromotion(2, 0, 1));
        trials[1] = new AshaTrial(2, [0.9], CanContinue: false);
        Asha.NextPromotion(trials, 3, 2).ShouldBeNull("trials 3 and 4 are not in the top half");
    }

    [Fact]
    public void Ties_go_to_the_earlier_trial_and_nan_ranks_last()
    {
        Asha.Ranked([Paused(3, 0.5), Paused(1, double.NaN), Paused(2, 0.5)], 0).Select(t => t.Id).ShouldBe([2, 3, 1]);
        Asha.NextPromotion([Paused(2, 0.5), Paused(1, 0.5)], 2, 2).ShouldBe(new AshaPromotion(1, 0, 1));
    }

    [Fact]
    public void The_top_rung_promotes_nothing()
    {
        Asha.NextPromotion([Paused(1, 0.5, 0.6), Paused(2, 0.6, 0.7)], rungs: 2, eta: 2).ShouldBeNull();
    }
}
