using GreenSeg.Training;
using Spectre.Console;

namespace GreenSeg.Cli;

/// <summary>Training progress: live bars (epoch, step, loss, slices/s, ETA) on a terminal, plain lines otherwise.</summary>
public sealed class ProgressObserver : ITrainingObserver
{
    private readonly ProgressContext? _context;
    private ProgressTask? _epochs, _steps;

    private ProgressObserver(ProgressContext? context) => _context = context;

    /// <summary>Runs <paramref name="work"/> with an observer fit for the current output.</summary>
    public static T Run<T>(Func<ITrainingObserver, T> work)
    {
        if (!Terminal.IsInteractive) return work(new ProgressObserver(null));
        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context => work(new ProgressObserver(context)));
    }

    public void Message(string line)
    {
        if (_context is null) Console.WriteLine(line);
        else AnsiConsole.MarkupLine(Markup.Escape(line));
    }

    public void EpochStarted(int epoch, int totalEpochs, int steps)
    {
        if (_context is null) return;
        _epochs ??= _context.AddTask("epochs", maxValue: totalEpochs);
        // One observer can follow several runs in turn (greenseg study), each with its own epoch count.
        _epochs.MaxValue = totalEpochs;
        _epochs.Value = epoch;
        _steps ??= _context.AddTask("steps");
        _steps.MaxValue = steps;
        _steps.Value = 0;
        _steps.Description = $"epoch {epoch}";
    }

    public void StepDone(int epoch, int step, int steps, double loss, double slicesPerSecond)
    {
        if (_steps is null) return;
        _steps.Value = step;
        _steps.Description = FormattableString.Invariant($"epoch {epoch} loss {loss:0.000} {slicesPerSecond:0.0} slices/s");
    }

    public void EpochDone(EpochMetrics metrics, int totalEpochs)
    {
        if (_epochs is not null) _epochs.Value = metrics.Epoch + 1;
    }
}
