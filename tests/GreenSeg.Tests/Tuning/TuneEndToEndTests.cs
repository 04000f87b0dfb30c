using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Tests.Cli;
using GreenSeg.Tests.Training;
using GreenSeg.Training;
using GreenSeg.Tuning;

namespace GreenSeg.Tests.Tuning;

/// <summary>Tiny searches that really train: micronet at 32x32 and 8 mm on the small phantom, 1-2 epochs per rung.</summary>
[Collection(nameof(SerialTorch))]
public sealed class TuneEndToEndTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-tune-e2e-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private const string Space = """
        name: tiny
        base: {model: micronet, size: 32, spacing: 8, validation-fraction: 0.34, batch-size: 8, precision: fp32, channels-last: false, threads: 2, lr-policy: cosine}
        search:
          learning-rate: {log-uniform: [1e-3, 1e-2]}
          fire-net.fires-per-stage: {int: [1, 2]}
          fire-net.squeeze-ratio: [0.25, 0.5]
        rungs: {min-epochs: 1, max-epochs: 2, eta: 2}
        """;

    private TuneRequest Request(string name, int trials, int? folds = null) => new()
    {
        Space = SearchSpaceParser.Parse(Space, Path.Combine(_root, "tiny.yaml"), "tiny"),
        Data = phantom.Root,
        Folder = Path.Combine(_root, name),
        MaxTrials = trials,
        CrossValidationFolds = folds,
    };

    /// <summary>Cancels the search when the given job starts training (after its first step, so the job is really in progress).</summary>
    private sealed class CancelInJob(int job, CancellationTokenSource cancel) : ITuneObserver, ITrainingObserver
    {
        private int _current;
        public ITrainingObserver Training => this;
        public void JobStarting(TrialRecord trial, TuneJob started, string rung, bool resuming) => _current = started.Sequence;
        public void JobEnded(TrialRecord trial, RungResult? result) { }
        public void TrialRejected(TrialRecord trial) { }
        public void Message(string line) { }
        public void EpochStarted(int epoch, int totalEpochs, int steps) { }
        public void EpochDone(EpochMetrics metrics, int totalEpochs) { }

        public void StepDone(int epoch, int step, int steps, double loss, double slicesPerSecond)
        {
            if (_current == job) cancel.Cancel();
        }
    }

    [Fact]
    public void A_tiny_search_stopped_mid_job_resumes_and_leaves_its_database_report_and_best_recipe()
    {
        var request = Request("search", trials: 3);
        using var cancel = new CancellationTokenSource();

        // Jobs: trial 1 and 2 at 1 epoch, the better promoted to 2 epochs (job 3: cancelled in its epoch), trial 3 at 1 epoch.
        var stopped = TuneRunner.Run(request, new CancelInJob(3, cancel), cancel.Token);
        stopped.Finished.ShouldBeFalse();
        using (var store = TuneStore.Open(request.Folder, readOnly: true))
        {
            store.OpenJob().ShouldNotBeNull().Sequence.ShouldBe(3);
            store.Trials().Count.ShouldBe(2);
        }

        var outcome = TuneRunner.Run(request);

        outcome.Finished.ShouldBeTrue(outcome.Reason);
        var results = TuneResults.Load(request.Folder);
        results.Trials.Select(t => t.Trial.Id).ShouldBe([1, 2, 3], "no trial lost or repeated");
        results.Trials.ShouldAllBe(t => t.Trial.Status != TrialStatus.Failed, string.Join("; ", results.Trials.Select(t => t.Trial.Error)));
        results.Jobs.Select(j => (j.Trial, j.Rung)).ShouldBeUnique();
        results.Jobs.Count.ShouldBe(4);
        var promoted = results.Jobs.Single(j => j.Kind == JobKind.Promotion);
        promoted.Sequence.ShouldBe(3);
        string promotedFolder = results.Trials.Single(t => t.Trial.Id == promoted.Trial).Trial.RunFolder;
        File.ReadAllText(Path.Combine(promotedFolder, "train.log")).ShouldContain("resuming after epoch 1", customMessage: "the promotion resumed the trial's own run");
        MetricsFile.Read(Path.Combine(promotedFolder, "metrics.csv")).Select(r => r.Epoch).ShouldBe([0, 1]);
        results.Ladder.Select(s => s.Reached).ShouldBe([3, 1]);
        results.TotalKj.ShouldBeGreaterThan(0);
        results.Trials.ShouldAllBe(t => t.Trial.Kj > 0 && t.Last != null && t.Last.Dice >= 0 && t.Last.Dice <= 1);

        var files = TuneReport.Write(results);
        File.Exists(files.Report.Markdown).ShouldBeTrue();
        File.Exists(files.Report.Html).ShouldBeTrue();
        var best = results.Best.ShouldNotBeNull();
        best.Trial.Id.ShouldBe(promoted.Trial, "the best trial is the one at the top rung");
        var recipe = TrainingOptions.Load(files.BestConfig!);
        recipe.ShouldBe(TrainingOptions.Parse(best.Trial.OptionsYaml, "trial"));
        recipe.FireNet.IsDefault().ShouldBeFalse();

        // The searched network loads again, with its shape, in segment.
        var (manifest, _) = CheckpointManifest.Locate(best.Trial.RunFolder);
        manifest.FireNet.ShouldBe(recipe.FireNet);
        using var segmenter = Segmenter.Load(best.Trial.RunFolder, new SegmentOptions { Threads = 2 });
        segmenter.Manifest.FireNet.ShouldBe(recipe.FireNet);
    }

    [Fact]
    public void Cross_validated_trials_train_every_fold_per_rung_and_score_the_held_out_stacks()
    {
        var request = Request("cv", trials: 2, folds: 2);

        var outcome = TuneRunner.Run(request);

        outcome.Finished.ShouldBeTrue(outcome.Reason);
        var results = TuneResults.Load(request.Folder);
        results.CrossValidation.ShouldBe("2");
        results.Trials.ShouldAllBe(t => t.Trial.Status != TrialStatus.Failed, string.Join("; ", results.Trials.Select(t => t.Trial.Error)));
        results.Jobs.Count.ShouldBe(3);
        foreach (var trial in results.Trials)
        {
            trial.Trial.InferenceKj.ShouldBeGreaterThan(0, "scoring the held-out stacks is on the bill");
            trial.Last!.Dice.ShouldBeInRange(0, 1);
            var folds = Directory.GetDirectories(Path.Combine(trial.Trial.RunFolder, "folds"));
            folds.Length.ShouldBe(2);
            folds.ShouldAllBe(f => Directory.GetFiles(Path.Combine(f, "predictions")).Length > 0);
            folds.ShouldAllBe(f => MetricsFile.Read(Path.Combine(f, "metrics.csv")).Count == trial.Epochs);
        }
    }

    [Fact]
    public void The_tune_and_report_commands_search_and_write_the_report()
    {
        string space = Path.Combine(_root, "one-rung.yaml");
        File.WriteAllText(space, Space.Replace("min-epochs: 1, max-epochs: 2", "min-epochs: 1, max-epochs: 1"));
        string folder = Path.Combine(_root, "cli");

        var (dryCode, dry) = CliRunner.Run("tune", space, "--data", phantom.Root, "--trials", "2", "--out", folder, "--dry-run");
        dryCode.ShouldBe(0, dry);
        dry.ShouldContain("trial-002");
        Directory.Exists(folder).ShouldBeFalse("a dry run trains nothing and writes nothing");

        var (code, output) = CliRunner.Run("tune", space, "--data", phantom.Root, "--trials", "2", "--out", folder, "--seed", "3", "--objective", "dice-per-kj");
        code.ShouldBe(0, output);
        output.ShouldContain("ended: all 2 trials drawn");
        output.ShouldContain("best: trial-00");
        File.Exists(Path.Combine(folder, TuneStore.FileName)).ShouldBeTrue();
        File.Exists(Path.Combine(folder, TuneResults.BestConfigName)).ShouldBeTrue();

        var (reportCode, report) = CliRunner.Run("report", folder, "--out", Path.Combine(_root, "again"));
        reportCode.ShouldBe(0, report);
        File.Exists(Path.Combine(_root, "again", "report.html")).ShouldBeTrue();
        File.Exists(Path.Combine(_root, "again", TuneResults.BestConfigName)).ShouldBeTrue();

        var (badCode, bad) = CliRunner.Run("tune", space, "--data", phantom.Root, "--trials", "2", "--out", folder, "--seed", "4");
        badCode.ShouldBe(3, bad);
        bad.ShouldContain("another seed");

        File.WriteAllText(space, "search: {learning-rat: [1e-3]}\nrungs: {min-epochs: 1, max-epochs: 1}\n");
        var (spaceCode, spaceError) = CliRunner.Run("tune", space, "--data", phantom.Root, "--trials", "1");
        spaceCode.ShouldBe(3, spaceError);
        spaceError.ShouldContain("learning-rat");
        spaceError.ShouldContain("one-rung.yaml");
    }
}
