using System.Globalization;

namespace GreenSeg.Training;

/// <summary>
/// Where a run stops for now without ending: once it has trained a number of epochs, or once its epochs have spent an
/// energy allowance (the run's cumulative epoch energy, as the energy-budget stop rule counts it). The run then writes
/// its summary and emissions row as a cancelled run does, and its last checkpoint stays resumable (no stop reason), so
/// <see cref="Trainer.Resume"/> with a later pause continues the same schedule: a run paused at epoch r and resumed is
/// the run trained straight through, observed at epoch r. The schedule's horizon stays the config's epochs, so
/// cosine and one-cycle decay over the whole run, not over the part before the pause.
/// </summary>
public sealed record TrainingPause
{
    /// <summary>Pause once this many epochs are done (counted over every resume).</summary>
    public int? AfterEpochs { get; init; }
    /// <summary>Pause once the run's epochs have spent this much energy, in kJ (checked after each epoch).</summary>
    public double? AfterKilojoules { get; init; }

    public static TrainingPause Epochs(int epochs) => new() { AfterEpochs = epochs };

    public static TrainingPause Kilojoules(double kilojoules) => new() { AfterKilojoules = kilojoules };

    /// <summary>Whether a run with this many epochs done, having spent this much energy in them, has reached the pause.</summary>
    public bool IsReached(int epochsDone, double epochJoules) =>
        (AfterEpochs is int epochs && epochsDone >= epochs) || (AfterKilojoules is double kj && epochJoules / 1000 >= kj);

    /// <summary>Whether the run that wrote this checkpoint state has reached the pause.</summary>
    public bool IsReached(ResumeState state) => IsReached(state.EpochsDone, state.EnergyJoulesSoFar);

    public override string ToString() => string.Join(" or ", new[]
    {
        AfterEpochs is int epochs ? $"{epochs} epoch{(epochs == 1 ? "" : "s")}" : null,
        AfterKilojoules is double kj ? string.Create(CultureInfo.InvariantCulture, $"{kj:0.###} kJ") : null,
    }.Where(part => part is not null));
}
