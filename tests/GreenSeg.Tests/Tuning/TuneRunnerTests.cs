using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Energy;
using GreenSeg.Training;
using GreenSeg.Tuning;

namespace GreenSeg.Tests.Tuning;

/// <summary>
/// The search loop on a stand-in trainer (no training): Dice from the learning rate, energy from the width and epochs,
/// so ASHA's promotions, the budget rule and resuming can be checked in milliseconds.
/// </summary>
public sealed class TuneRunnerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-tune-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly SearchSpace Space = SearchSpaceParser.Parse("""
        name: fake
        base: {model: micronet}
        search:
          learning-rate: {log-uniform: [1e-5, 1e-1]}
          model-width: [4, 8, 16]
        rungs: {min-epochs: 1, max-epochs: 9, eta: 3}
        """, "fake.yaml", "fake");

    private TuneRequest Request(string name, int? trials = 12, string? budget = null, int seed = 5, TuneObjective objective = TuneObjective.Dice) => new()
    {
        Space = Space,
        Data = Path.Combine(_root, "data"),
        Folder = Path.Combine(_root, name),
        Seed = seed,
        MaxTrials = trials,
        Budget = budget is null ? null : EnergyBudget.Parse(budget),
        Objective = objective,
    };

    /// <summary>A process killed in the middle of a job.</summary>
    private sealed class Killed : Exception;

    /// <summary>
    /// Dice peaks at a learning rate of 1e-3 and grows with epochs; each epoch costs width/8 kJ (times <paramref name="costGrowth"/>
    /// per rung, to make later rungs dearer than estimated), plus 0.1 kJ of setup. Can kill or cancel itself at a given call.
    /// </summary>
    private sealed class FakeTrainer(int killAtCall = 0, CancellationTokenSource? cancelAtCall = null, int cancelCall = 0, double costGrowth = 1) : ITrialTrainer
    {
        public List<(int Trial, int Rung)> Calls { get; } = [];

        public static double Dice(TrainingOptions options, int epochs) =>
            Math.Clamp(0.9 - 0.2 * Math.Abs(Math.Log10(options.Optimisation.FixedLearningRate) + 3), 0, 1) * (1 - 0.5 / (epochs + 1));

        public double Kj(TrainingOptions options, int epochs, int rung) => 0.1 + epochs * options.ModelWidth!.Value / 8.0 * Math.Pow(costGrowth, rung);

        public TrialRunResult Train(TrialAssignment assignment, ITrainingObserver observer, CancellationToken cancellationToken)
        {
            Calls.Add((assignment.Trial, assignment.Rung));
            int epochs = assignment.Pause.AfterEpochs!.Value;
            if (Calls.Count == killAtCall) throw new Killed();
            if (Calls.Count == cancelCall)
            {
                cancelAtCall!.Cancel();
                return new TrialRunResult(TrialRunEnd.Interrupted, Kj(assignment.Options, epochs - 1, assignment.Rung));
            }
            double kj = Kj(assignment.Options, epochs, assignment.Rung);
            return new TrialRunResult(epochs == 9 ? TrialRunEnd.Ended : TrialRunEnd.ReachedRung, kj, Epochs: epochs, Dice: Dice(assignment.Options, epochs),
                EpochKj: kj - 0.1, StopReason: epochs == 9 ? "completed 9 epochs" : null, EnergyEstimated: true);
        }
    }

    private static (IReadOnlyList<TrialRecord> Trials, IReadOnlyList<TuneJob> Jobs, IReadOnlyList<RungResult> Results) Read(string folder)
    {
        using var store = TuneStore.Open(folder, readOnly: true);
        return (store.Trials(), store.Jobs(), store.RungResults());
    }

    private static IEnumerable<(int, int, JobKind)> Order(IReadOnlyList<TuneJob> jobs) => jobs.Select(j => (j.Trial, j.Rung, j.Kind));

    [Fact]
    public void Every_promotion_follows_the_rung_rule_and_new_trials_start_only_when_none_is_due()
    {
        var outcome = TuneRunner.Run(Request("rule", trials: 15), trainer: new FakeTrainer());

        outcome.Finished.ShouldBeTrue();
        outcome.Reason.ShouldBe("all 15 trials drawn and none left to promote");
        var (trials, jobs, results) = Read(outcome.Folder);
        trials.Count.ShouldBe(15);
        // Replay the search: before each job, the rule on what was known then must have asked for exactly that job.
        for (int j = 0; j < jobs.Count; j++)
        {
            var known = results.Where(r => jobs.Take(j).Any(done => done.Trial == r.Trial && done.Rung == r.Rung)).ToList();
            var status = trials.Select(t => t with
            {
                Status = known.Where(r => r.Trial == t.Id).Select(r => r.Rung).DefaultIfEmpty(-1).Max() is int top && top >= 0 && top < 2 ? TrialStatus.Paused : TrialStatus.Completed,
            }).Where(t => jobs.Take(j).Any(done => done.Trial == t.Id)).ToList();
            var expected = Asha.NextPromotion(TuneRunner.AshaTrials(status, known), Space.Rungs.Count, Space.Rungs.Eta);
            if (jobs[j].Kind == JobKind.Promotion) expected.ShouldBe(new AshaPromotion(jobs[j].Trial, jobs[j].Rung - 1, jobs[j].Rung), $"job {j + 1}");
            else expected.ShouldBeNull($"job {j + 1} started a new trial while a promotion was due");
        }
        // 15 trials at 1 epoch; at least the top third of each rung went up (ASHA promotes as results come, so an early
        // promotion is never taken back), and at the end every trial in a rung's top third has gone up.
        var ladder = TuneResults.Load(outcome.Folder).Ladder;
        ladder[0].Reached.ShouldBe(15);
        for (int rung = 0; rung < 2; rung++)
        {
            ladder[rung].Promoted.ShouldBe(ladder[rung + 1].Reached);
            ladder[rung + 1].Reached.ShouldBeGreaterThanOrEqualTo(ladder[rung].Reached / 3);
            var top = Asha.Top(TuneRunner.AshaTrials(trials, results), rung, 3);
            top.ShouldAllBe(t => results.Any(r => r.Trial == t.Id && r.Rung == rung + 1));
        }
        jobs.Select(j => (j.Trial, j.Rung)).ShouldBeUnique("no trial is taken to a rung twice");
    }

    [Fact]
    public void A_seeded_search_repeats_its_trials_in_the_same_order()
    {
        var first = TuneRunner.Run(Request("a"), trainer: new FakeTrainer());
        var second = TuneRunner.Run(Request("b"), trainer: new FakeTrainer());
        var other = TuneRunner.Run(Request("c", seed: 6), trainer: new FakeTrainer());

        var (trialsA, jobsA, _) = Read(first.Folder);
        var (trialsB, jobsB, _) = Read(second.Folder);
        trialsB.Select(t => t.Changes).ShouldBe(trialsA.Select(t => t.Changes));
        Order(jobsB).ShouldBe(Order(jobsA));
        Read(other.Folder).Trials.Select(t => t.Changes).ShouldNotBe(trialsA.Select(t => t.Changes));
        trialsA.Select(t => t.Changes).ShouldBeUnique("a combination is never drawn twice");
    }

    [Fact]
    public void A_search_killed_in_a_job_resumes_that_job_and_loses_or_repeats_no_trial()
    {
        var reference = TuneRunner.Run(Request("reference"), trainer: new FakeTrainer());
        var request = Request("killed");

        Should.Throw<Killed>(() => TuneRunner.Run(request, trainer: new FakeTrainer(killAtCall: 7)));
        var (_, openJobs, _) = Read(request.Folder);
        openJobs.Count(j => j.IsOpen).ShouldBe(1, "the killed job is left open");
        var killed = openJobs.Single(j => j.IsOpen);

        var resumed = new FakeTrainer();
        var outcome = TuneRunner.Run(request, trainer: resumed);

        outcome.Finished.ShouldBeTrue();
        resumed.Calls[0].ShouldBe((killed.Trial, killed.Rung), "the job in progress is resumed first");
        var (trials, jobs, _) = Read(request.Folder);
        var (referenceTrials, referenceJobs, _) = Read(reference.Folder);
        trials.Select(t => (t.Id, t.Changes)).ShouldBe(referenceTrials.Select(t => (t.Id, t.Changes)));
        Order(jobs).ShouldBe(Order(referenceJobs));
        jobs.ShouldAllBe(j => !j.IsOpen);
    }

    [Fact]
    public void A_cancelled_search_stops_in_its_job_and_the_next_run_finishes_it()
    {
        var reference = TuneRunner.Run(Request("reference"), trainer: new FakeTrainer());
        var request = Request("cancelled");
        using var cancel = new CancellationTokenSource();

        var stopped = TuneRunner.Run(request, cancellationToken: cancel.Token, trainer: new FakeTrainer(cancelAtCall: cancel, cancelCall: 4));
        stopped.Finished.ShouldBeFalse();
        var (midTrials, midJobs, _) = Read(request.Folder);
        midJobs.Count.ShouldBe(4);
        midJobs[^1].IsOpen.ShouldBeTrue();
        midTrials.Single(t => t.Id == midJobs[^1].Trial).Status.ShouldBe(TrialStatus.Running);
        midTrials.Single(t => t.Id == midJobs[^1].Trial).Kj.ShouldBeGreaterThan(0, "the energy of the stopped job is on the bill already");

        var outcome = TuneRunner.Run(request, trainer: new FakeTrainer());
        outcome.Finished.ShouldBeTrue();
        Order(Read(request.Folder).Jobs).ShouldBe(Order(Read(reference.Folder).Jobs));
    }

    [Theory]
    [InlineData("20kJ", 1.0)]
    [InlineData("35kJ", 1.0)]
    [InlineData("30kJ", 2.5)]
    public void The_budget_is_never_exceeded_by_more_than_one_rung(string budget, double costGrowth)
    {
        var outcome = TuneRunner.Run(Request($"budget-{budget}-{costGrowth}", trials: null, budget: budget), trainer: new FakeTrainer(costGrowth: costGrowth));

        outcome.Finished.ShouldBeTrue();
        outcome.Reason.ShouldContain("energy budget");
        var (trials, jobs, _) = Read(outcome.Folder);
        double budgetKj = EnergyBudget.Parse(budget).Joules / 1000;
        double total = trials.Sum(t => t.Kj);
        double lastJob = jobs[^1].KjAfter!.Value - jobs[^1].KjBefore;
        (total - lastJob).ShouldBeLessThan(budgetKj, "every job started below the budget");
        total.ShouldBeLessThanOrEqualTo(budgetKj + lastJob, "only the last job can go over, by at most what it cost");
        // Each job started only with the energy spent before it below the budget.
        double spent = 0;
        foreach (var job in jobs)
        {
            spent.ShouldBeLessThan(budgetKj);
            spent += job.KjAfter!.Value - job.KjBefore;
        }
        spent.ShouldBe(total, 1e-9);
    }

    [Fact]
    public void The_budget_rule_lets_a_larger_budget_resume_where_a_smaller_one_ended()
    {
        var small = TuneRunner.Run(Request("grow", trials: null, budget: "10kJ"), trainer: new FakeTrainer());
        int jobsBefore = Read(small.Folder).Jobs.Count;

        var larger = TuneRunner.Run(Request("grow", trials: null, budget: "25kJ"), trainer: new FakeTrainer());

        larger.Finished.ShouldBeTrue();
        Read(larger.Folder).Jobs.Count.ShouldBeGreaterThan(jobsBefore);
        Read(larger.Folder).Trials.Sum(t => t.Kj).ShouldBeGreaterThan(10);
    }

    [Fact]
    public void A_jobs_estimate_comes_from_the_trials_own_rate_or_the_first_rungs_mean()
    {
        var epochs = new RungLadder(RungUnit.Epochs, 2, 8, 2);
        // 3 kJ for 2 epochs: 1.5 kJ an epoch, 2 more epochs to reach 4.
        TuneRunner.PromotionEstimate(new RungResult(1, 0, 2, 2, 0.5, 0.5, TrialKj: 3, EpochKj: 2.5, null), epochs, 1).ShouldBe(3);
        var kilojoules = new RungLadder(RungUnit.Kilojoules, 2, 8, 3);
        // Two folds spent 2 kJ of epochs each (5 kJ in all with setup and scoring); the next rung gives each fold 6 kJ.
        TuneRunner.PromotionEstimate(new RungResult(1, 0, 2, 3, 0.5, 0.5, TrialKj: 5, EpochKj: 4, null), kilojoules, 1, folds: 2).ShouldBe(10);
        TuneRunner.NewTrialEstimate([]).ShouldBe(0, "the first job starts unestimated");
        TuneRunner.NewTrialEstimate([new RungResult(1, 0, 2, 2, 0.5, 0.5, 2, 1.8, null), new RungResult(2, 0, 2, 2, 0.5, 0.5, 4, 3.8, null),
            new RungResult(1, 1, 4, 4, 0.5, 0.5, 9, 8, null)]).ShouldBe(3);
    }

    [Fact]
    public void Dice_per_kj_ranks_by_dice_over_the_trials_whole_energy()
    {
        var outcome = TuneRunner.Run(Request("per-kj", trials: 6, objective: TuneObjective.DicePerKj), trainer: new FakeTrainer());

        var (_, _, results) = Read(outcome.Folder);
        results.ShouldAllBe(r => Math.Abs(r.Score - r.Dice / r.TrialKj) < 1e-12);
    }

    [Fact]
    public void A_folder_holds_one_search_and_a_search_needs_a_limit()
    {
        TuneRunner.Run(Request("one", trials: 2), trainer: new FakeTrainer());

        Should.Throw<GreenSegException>(() => TuneRunner.Run(Request("one", trials: 2, seed: 9), trainer: new FakeTrainer())).Message.ShouldContain("seed");
        Should.Throw<GreenSegException>(() => TuneRunner.Run(Request("none", trials: null), trainer: new FakeTrainer())).Message.ShouldContain("--budget");
        Should.Throw<InvalidInputException>(() => TuneRunner.Run(Request("at-budget", objective: TuneObjective.DiceAtBudget), trainer: new FakeTrainer()))
            .Message.ShouldContain("rungs in kJ");
    }

    [Fact]
    public void The_report_names_the_best_trial_writes_its_recipe_and_estimates_the_saving()
    {
        var outcome = TuneRunner.Run(Request("report", trials: 9), trainer: new FakeTrainer());
        var results = TuneResults.Load(outcome.Folder);

        var best = results.Best.ShouldNotBeNull();
        best.Last!.Rung.ShouldBe(2, "the best trial is taken from the top rung");
        best.Trial.Status.ShouldBe(TrialStatus.Completed);
        results.TotalKj.ShouldBe(results.Trials.Sum(t => t.Trial.Kj));
        results.Saving.SavedKj.ShouldBeGreaterThan(0);
        results.Saving.FullTrainingKj.ShouldBe(results.TotalKj + results.Trials
            .Where(t => t.Trial.Status == TrialStatus.Paused).Sum(t => (9 - t.Epochs) * t.KjPerEpoch!.Value), 1e-9);

        var files = TuneReport.Write(results);
        File.ReadAllText(files.Report.Markdown).ShouldContain("## Promotion ladder");
        File.ReadAllText(files.Report.Html).ShouldContain("<title>GreenSeg search: fake</title>");
        File.Exists(Path.Combine(outcome.Folder, "pareto.png")).ShouldBeTrue();
        var recipe = TrainingOptions.Load(files.BestConfig!);
        recipe.Optimisation.LearningRate.ShouldBe(best.Trial.Settings[0].Value);
        recipe.ModelWidth.ShouldBe(int.Parse(best.Trial.Settings[1].Value!, CultureInfo.InvariantCulture));
        recipe.Schedule.Epochs.ShouldBe(9);
    }
}
