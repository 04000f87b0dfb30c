using GreenSeg.Training;
using GreenSeg.Training.Schedules;

namespace GreenSeg.Tests.Training;

[Collection(nameof(SerialTorch))]
public sealed class TrainingPauseTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("greenseg-pause-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    [Fact]
    public void A_paused_run_resumes_on_the_whole_runs_schedule_and_ends_as_the_whole_run()
    {
        var options = phantom.Tiny(epochs: 3).WithSchedule(s => s with { LrPolicy = LrPolicyKind.Cosine });
        var whole = Trainer.Train(options, Path.Combine(_runs, "whole"));

        string paused = Path.Combine(_runs, "paused");
        var first = Trainer.Train(options, paused, plugins: new TrainingPlugins { Pause = TrainingPause.Epochs(1) });
        first.EpochsRun.ShouldBe(1);
        first.StopReason.ShouldStartWith("paused after 1 epoch (");
        var state = RunFolder.ReadState(new RunFolder(paused).FindCheckpoint("last")!);
        state.StopReason.ShouldBeNull("a paused run is not finished: it resumes");
        TrainingPause.Epochs(1).IsReached(state).ShouldBeTrue();

        // Resuming with a pause already reached trains nothing more.
        Trainer.Resume(paused, plugins: new TrainingPlugins { Pause = TrainingPause.Epochs(1) }).EpochsRun.ShouldBe(1);
        Trainer.Resume(paused, plugins: new TrainingPlugins { Pause = TrainingPause.Epochs(2) }).EpochsRun.ShouldBe(2);
        var last = Trainer.Resume(paused, plugins: new TrainingPlugins { Pause = TrainingPause.Epochs(99) });

        last.EpochsRun.ShouldBe(3);
        last.StopReason.ShouldBe("completed 3 epochs");
        // The cosine schedule spans the run's 3 epochs from the first step: the pauses do not shorten its horizon.
        MetricsFile.Read(Path.Combine(paused, "metrics.csv")).Select(r => r.LearningRate)
            .ShouldBe(MetricsFile.Read(Path.Combine(whole.RunFolder, "metrics.csv")).Select(r => r.LearningRate));
        MetricsFile.Read(Path.Combine(paused, "metrics.csv")).Select(r => r.Epoch).ShouldBe([0, 1, 2]);
    }

    [Fact]
    public void An_energy_pause_stops_once_the_epochs_have_spent_the_allowance()
    {
        string folder = Path.Combine(_runs, "energy");
        var result = Trainer.Train(phantom.Tiny(epochs: 5), folder, plugins: new TrainingPlugins { Pause = TrainingPause.Kilojoules(1e-6) });

        result.EpochsRun.ShouldBe(1, "the first epoch spends more than a millijoule");
        RunFolder.ReadState(new RunFolder(folder).FindCheckpoint("last")!).StopReason.ShouldBeNull();
        TrainingPause.Kilojoules(1e-6).ToString().ShouldBe("0 kJ");
        new TrainingPause { AfterEpochs = 2, AfterKilojoules = 5 }.IsReached(1, 6000).ShouldBeTrue();
        new TrainingPause { AfterEpochs = 2, AfterKilojoules = 5 }.IsReached(1, 4000).ShouldBeFalse();
    }
}
