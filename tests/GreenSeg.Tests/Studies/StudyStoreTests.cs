using GreenSeg.Tests.Training;
using GreenSeg.Data;
using GreenSeg.Common;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Training;

namespace GreenSeg.Tests.Studies;

public sealed class StudyStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "greenseg-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static PlannedRun Run(string name, TrainingOptions options) =>
        new(name, options, [new OptionSetting("cache", ChoiceNames.Name(options.Loading.Cache))]);

    private static EpochMetrics Epoch(int epoch, double dice, bool best) => new()
    {
        Epoch = epoch, TrainLoss = 0.5 - epoch * 0.1, ValidationLoss = 0.6 - epoch * 0.1, ValidationDice = dice, ValidationDiceSd = 0.01 * (epoch + 1),
        LearningRate = 1e-4, BatchSize = 8, EpochSeconds = 10 + epoch, TrainSeconds = 9 + epoch, DataWaitSeconds = 0.5, SlicesPerSecond = 30.25,
        EnergyJoules = 1500.5 + epoch, CpuJoules = 1400, RamJoules = 100.5 + epoch, GpuJoules = 0, EnergyOrigin = "cpu=estimated;gpu=none;ram=estimated",
        Co2Grams = 0.2, CumulativeEnergyKj = 1.5 * (epoch + 1), IsBest = best,
    };

    [Fact]
    public void Runs_results_and_epochs_round_trip()
    {
        var options = TrainingOptions.Baseline("/data").WithLoading(l => l with { Cache = CacheMode.Memory }).WithSchedule(s => s with { Epochs = 2 });
        using (var store = StudyStore.Open(_folder))
        {
            store.SetMeta("name", "round-trip");
            store.Register(Run("first", options), 0, 1_942_000, 0.188);
            store.Register(Run("second", options with { Seed = 3 }), 1, 5, 0.5);
            store.MarkRunning("first", "/runs/first");
            store.UpsertEpoch("first", Epoch(0, 0.5, true));
            store.ReplaceEpochs("first", [Epoch(0, 0.5, true), Epoch(1, 0.75, true)]);
            var result = new TrainingResult("/runs/first", 2, 1, 0.75, 3.002, true, 0.4, TimeSpan.FromSeconds(21.5), "completed 2 epochs", 1e-4, 8);
            store.RecordOutcome("first", RunStatus.Finished, result, new RunTotals(3.5, true, 0.45), null);
        }

        using var reopened = StudyStore.Open(Path.Combine(_folder, StudyStore.FileName), readOnly: true);
        reopened.GetMeta("name").ShouldBe("round-trip");
        reopened.Runs().Select(r => r.Name).ShouldBe(["first", "second"]);
        var first = reopened.Get("first");
        first.Status.ShouldBe(RunStatus.Finished);
        first.Options("db").ShouldBe(options);
        first.Changes.ShouldBe("cache: memory");
        first.RunFolder.ShouldBe("/runs/first");
        first.Model.ShouldBe("unet");
        first.Parameters.ShouldBe(1_942_000);
        first.GigaMacs.ShouldBe(0.188);
        first.EpochsRun.ShouldBe(2);
        first.BestEpoch.ShouldBe(1);
        first.BestDice.ShouldBe(0.75);
        first.StopReason.ShouldBe("completed 2 epochs");
        first.LearningRate.ShouldBe(1e-4);
        first.BatchSize.ShouldBe(8);
        first.DurationSeconds.ShouldBe(21.5);
        first.EpochsEnergyKj.ShouldBe(3.002);
        first.TotalEnergyKj.ShouldBe(3.5);
        first.EnergyEstimated.ShouldBeTrue();
        first.Co2Grams.ShouldBe(0.45);
        first.StartedUtc.ShouldNotBeNull();
        first.FinishedUtc.ShouldNotBeNull();
        first.Error.ShouldBeNull();
        reopened.Epochs("first").ShouldBe([Epoch(0, 0.5, true), Epoch(1, 0.75, true)]);

        var second = reopened.Get("second");
        second.Status.ShouldBe(RunStatus.Pending);
        second.BestDice.ShouldBeNull();
        second.TotalEnergyKj.ShouldBeNull();
        reopened.Epochs("second").ShouldBeEmpty();
    }

    [Fact]
    public void An_epoch_without_validation_figures_is_stored_and_read_back_as_NaN()
    {
        using var store = StudyStore.Open(_folder);
        store.Register(Run("final", TrainingOptions.Baseline("/d") with { Final = true }), 0, 1, 1);

        store.UpsertEpoch("final", Epoch(0, double.NaN, true) with { ValidationLoss = double.NaN });

        var row = store.Epochs("final").Single();
        double.IsNaN(row.ValidationDice).ShouldBeTrue();
        double.IsNaN(row.ValidationLoss).ShouldBeTrue();
    }

    [Fact]
    public void A_failed_run_keeps_its_error_and_a_retry_clears_it()
    {
        using var store = StudyStore.Open(_folder);
        store.Register(Run("x", TrainingOptions.Baseline("/d")), 0, 1, 1);
        store.MarkRunning("x", "/runs/x");
        store.RecordOutcome("x", RunStatus.Failed, null, null, "training diverged");
        store.Get("x").Status.ShouldBe(RunStatus.Failed);
        store.Get("x").Error.ShouldBe("training diverged");
        store.Get("x").FinishedUtc.ShouldBeNull();
        store.MarkRunning("x", "/runs/x");
        store.Get("x").Status.ShouldBe(RunStatus.Running);
        store.Get("x").Error.ShouldBeNull();
    }

    [Fact]
    public void A_run_planned_again_with_other_options_is_refused()
    {
        using var store = StudyStore.Open(_folder);
        var options = TrainingOptions.Baseline("/d");
        store.Register(Run("x", options), 0, 1, 1);
        store.Register(Run("x", options), 3, 1, 1); // same plan again: fine, only the position follows the plan
        store.Get("x").Position.ShouldBe(3);
        Should.Throw<GreenSegException>(() => store.Register(Run("x", options.WithSchedule(s => s with { Epochs = 99 })), 0, 1, 1))
            .Message.ShouldContain("epochs: 99");
    }

    [Fact]
    public void A_run_planned_with_flat_options_by_an_earlier_greenseg_resumes_when_it_asks_for_the_same()
    {
        var options = TrainingOptions.Baseline("/d");
        using (var store = StudyStore.Open(_folder)) store.Register(Run("x", options), 0, 1, 1);
        // As a study database written before the options had sections holds it.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_folder, StudyStore.FileName)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE runs SET options_yaml = $yaml WHERE name = 'x'";
            command.Parameters.AddWithValue("$yaml", ConfigSectionsTests.Flat(options.ToYaml()));
            command.ExecuteNonQuery().ShouldBe(1);
        }

        using var again = StudyStore.Open(_folder);
        again.Get("x").OptionsYaml.ShouldContain("\nepochs: 25\n");
        again.Register(Run("x", options), 2, 1, 1);
        again.Get("x").Options("study.db").ToYaml().ShouldBe(options.ToYaml());
        Should.Throw<GreenSegException>(() => again.Register(Run("x", options.WithSchedule(s => s with { Epochs = 99 })), 0, 1, 1))
            .Message.ShouldContain("epochs: 99");
    }

    [Fact]
    public void Reading_a_folder_without_a_study_names_the_expected_file()
    {
        Directory.CreateDirectory(_folder);
        Should.Throw<InvalidInputException>(() => StudyStore.Open(_folder, readOnly: true)).Path.ShouldBe(Path.Combine(_folder, StudyStore.FileName));
        string notADatabase = Path.Combine(_folder, "notes.db");
        File.WriteAllText(notADatabase, "these are not the tables you are looking for");
        Should.Throw<InvalidInputException>(() => StudyStore.Open(notADatabase, readOnly: true)).Path.ShouldBe(notADatabase);
    }
}
