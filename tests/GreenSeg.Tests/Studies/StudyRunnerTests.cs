using System.Text.RegularExpressions;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Studies.Reporting;
using GreenSeg.Phantom;
using GreenSeg.Training;

namespace GreenSeg.Tests.Studies;

/// <summary>A tiny phantom (three DWI stacks, 128x128) made once for the study tests, and their scratch folder.</summary>
public sealed class TinyPhantomFixture : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "greenseg-study-" + Guid.NewGuid().ToString("N"));
    public string Data => Path.Combine(Root, "data");

    public TinyPhantomFixture() =>
        StudyData.WritePhantom(Data, new PhantomOptions { TrainStacks = new StackCounts(0, 3, 0), TestStacks = new StackCounts(0, 0, 0) });

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }

    /// <summary>Runs of a few seconds: 32x32 inputs at 8 mm, U-Net width 4, one stack held out.</summary>
    public StudyPlan Plan(string runs, int epochs = 1) => StudyPlanner.Expand(StudyDefinitionParser.Parse($"""
        name: tiny
        description: tiny runs
        split: {"{"} seed: 1, validation-fraction: 0.34 {"}"}
        budget: {"{"} epochs: {epochs} {"}"}
        set: {"{"} size: 32, spacing: 8, model-width: 4, threads: 2 {"}"}
        {runs}
        """, "tiny.yaml", "tiny"), Data);
}

public sealed class StudyRunnerTests(TinyPhantomFixture fixture) : IClassFixture<TinyPhantomFixture>
{
    private const string FourRuns = """
        runs:
          - name: baseline
          - name: +cache
            set: { cache: memory }
          - name: +novograd
            set: { optimizer: novograd }
          - name: +bf16-channels-last
            set: { precision: bf16-mixed, channels-last: true }
        """;

    /// <summary>Cancels the study after the given number of runs have ended, or after the given epoch of any run.</summary>
    private sealed class Stopper(CancellationTokenSource cancel, int afterRuns = int.MaxValue, int afterEpoch = int.MaxValue) : IStudyObserver, ITrainingObserver
    {
        private int _ended;
        public List<string> Started { get; } = [];
        public List<string> Skipped { get; } = [];
        public ITrainingObserver Training => this;
        public void RunStarting(PlannedRun run, int index, int count, bool resuming) => Started.Add(run.Name);
        public void RunSkipped(StoredRun run, int index, int count) => Skipped.Add(run.Name);

        public void RunEnded(StoredRun run, int index, int count)
        {
            if (++_ended >= afterRuns) cancel.Cancel();
        }

        public void Message(string line) { }
        public void EpochStarted(int epoch, int totalEpochs, int steps) { }
        public void StepDone(int epoch, int step, int steps, double loss, double slicesPerSecond) { }

        public void EpochDone(EpochMetrics metrics, int totalEpochs)
        {
            if (metrics.Epoch >= afterEpoch) cancel.Cancel();
        }
    }

    /// <summary>The runs' recorded errors, for assertion messages.</summary>
    private static string ErrorsOf(string folder)
    {
        using var store = StudyStore.Open(folder, readOnly: true);
        return string.Join("; ", store.Runs().Where(r => r.Error is not null).Select(r => $"{r.Name}: {r.Error}"));
    }

    [Fact]
    public void A_stopped_study_resumes_with_only_the_remaining_runs_then_reports()
    {
        var plan = fixture.Plan(FourRuns);
        string folder = Path.Combine(fixture.Root, "three");

        using (var cancel = new CancellationTokenSource())
        {
            var stopper = new Stopper(cancel, afterRuns: 1);
            var first = StudyRunner.Run(plan, folder, stopper, cancellationToken: cancel.Token);
            stopper.Started.ShouldBe(["baseline"]);
            first.Runs.ShouldBe([new RunOutcome("baseline", RunAction.Trained, RunStatus.Finished)], ErrorsOf(folder));
            first.Complete(plan).ShouldBeFalse();
        }
        using (var store = StudyStore.Open(folder, readOnly: true))
        {
            store.Runs().Select(r => (r.Name, r.Status)).ShouldBe([
                ("baseline", RunStatus.Finished), ("+cache", RunStatus.Pending), ("+novograd", RunStatus.Pending), ("+bf16-channels-last", RunStatus.Pending),
            ]);
            store.Epochs("baseline").Count.ShouldBe(1);
        }

        var again = new Stopper(new CancellationTokenSource());
        var second = StudyRunner.Run(plan, folder, again);
        again.Skipped.ShouldBe(["baseline"]);
        again.Started.ShouldBe(["+cache", "+novograd", "+bf16-channels-last"]);
        second.Runs.Select(r => (r.Name, r.Action, r.Status)).ShouldBe([
            ("baseline", RunAction.Skipped, RunStatus.Finished), ("+cache", RunAction.Trained, RunStatus.Finished),
            ("+novograd", RunAction.Trained, RunStatus.Finished), ("+bf16-channels-last", RunAction.Trained, RunStatus.Finished),
        ], ErrorsOf(folder));
        second.Complete(plan).ShouldBeTrue();

        var results = StudyResults.Load(folder);
        results.Name.ShouldBe("tiny");
        results.BaselineRun.ShouldBe("baseline");
        results.Runs.ShouldAllBe(r => r.IsComplete && r.Epochs.Count == 1 && r.TotalKilojoules > 0 && r.Parameters > 0 && r.GigaMacs > 0);
        // The same data, split, seed and budget: only the cache differs, so +cache learns exactly what the baseline learns.
        results.Runs[1].DiceMean!.Value.ShouldBe(results.Runs[0].DiceMean!.Value, 1e-6);
        results.Comparisons.Select(c => c.Run).ShouldBe(["+cache", "+novograd", "+bf16-channels-last"]);
        results.Runs.ShouldAllBe(r => r.TotalKilojoules >= r.KilojoulesPerEpoch, "the whole run costs at least its epoch");

        string reportFolder = Path.Combine(fixture.Root, "report");
        var files = StudyReport.Write(results, reportFolder);
        files.Images.Select(Path.GetFileName).ShouldBe(["pareto.png", "energy-per-epoch.png", "learning-curves.png"]);
        foreach (string image in files.Images) File.ReadAllBytes(image).Take(8).ShouldBe(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });

        string markdown = File.ReadAllText(files.Markdown);
        markdown.ShouldContain("# GreenSeg study: tiny");
        foreach (string image in files.Images) markdown.ShouldContain($"]({Path.GetFileName(image)})");
        markdown.ShouldContain("| +cache | cache: memory |");
        if (results.AnyEstimated) markdown.ShouldContain("ESTIMATED");

        string html = File.ReadAllText(files.Html);
        html.ShouldStartWith("<!DOCTYPE html>");
        var sources = Regex.Matches(html, "(?:src|href)=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        sources.Count.ShouldBe(3);
        sources.ShouldAllBe(s => s.StartsWith("data:image/png;base64,"), "self-contained: every image inline, nothing linked");
        foreach (string source in sources) Convert.FromBase64String(source["data:image/png;base64,".Length..]).Length.ShouldBeGreaterThan(1000);
        html.ShouldNotContain("<script");
        html.ShouldNotContain("<link");
    }

    [Fact]
    public void An_interrupted_run_resumes_from_its_checkpoint_and_a_changed_plan_is_refused()
    {
        var plan = fixture.Plan("runs: [{ name: only }]", epochs: 2);
        string folder = Path.Combine(fixture.Root, "interrupted");
        using (var cancel = new CancellationTokenSource())
        {
            var outcome = StudyRunner.Run(plan, folder, new Stopper(cancel, afterEpoch: 0), cancellationToken: cancel.Token);
            outcome.Runs.ShouldBe([new RunOutcome("only", RunAction.Trained, RunStatus.Interrupted)], ErrorsOf(folder));
        }
        using (var store = StudyStore.Open(folder, readOnly: true))
        {
            store.Get("only").Status.ShouldBe(RunStatus.Interrupted);
            store.Epochs("only").Select(e => e.Epoch).ShouldBe([0]);
        }

        var resumed = StudyRunner.Run(plan, folder);
        resumed.Runs.ShouldBe([new RunOutcome("only", RunAction.Resumed, RunStatus.Finished)]);
        var results = StudyResults.Load(folder);
        var only = results.Runs.ShouldHaveSingleItem();
        only.Epochs.Select(e => e.Epoch).ShouldBe([0, 1]);
        only.TotalKilojoules!.Value.ShouldBeGreaterThanOrEqualTo(only.Epochs.Sum(e => e.EnergyKj) - 1e-9, "both invocations count");

        StudyRunner.Run(plan, folder).Runs.ShouldBe([new RunOutcome("only", RunAction.Skipped, RunStatus.Finished)]);
        Should.Throw<GreenSeg.Common.GreenSegException>(() => StudyRunner.Run(fixture.Plan("runs: [{ name: only }]", epochs: 3), folder))
            .Message.ShouldContain("other options");
    }
}
