using System.Text.Json;
using GreenSeg.Common;

namespace GreenSeg.Training;

/// <summary>What a run needs to continue exactly where it stopped, besides the model and optimizer weights.</summary>
public sealed record ResumeState
{
    /// <summary>Epochs completed (the next epoch to run has this index).</summary>
    public int EpochsDone { get; init; }
    public double LearningRate { get; init; }
    public int BatchSize { get; init; }
    public int PolicyOptimizerSteps { get; init; }
    public List<double> PolicyValidationLosses { get; init; } = [];
    /// <summary>Optimizer steps the weight average holds (<see cref="WeightAverage.Updates"/>); 0 without one.</summary>
    public long AverageUpdates { get; init; }
    public double? BestMetric { get; init; }
    public int BestEpoch { get; init; }
    public double? EarlyStoppingBest { get; init; }
    public int EpochsWithoutImprovement { get; init; }
    public double EnergyJoulesSoFar { get; init; }
    public double SecondsSoFar { get; init; }
    public List<double> DiceHistory { get; init; } = [];
    public List<double> EnergyHistoryKj { get; init; } = [];
    public string? StopReason { get; init; }
    /// <summary>
    /// The energy the process that wrote this checkpoint had spent by then, while no emissions.csv row holds it
    /// (cleared once the process writes its row); a resume finds it set only after a kill, and reports it.
    /// </summary>
    public Energy.CarriedEnergy? UnreportedEnergy { get; init; }
}

/// <summary>
/// The folder of one training run: config.yaml, metrics.csv, emissions.csv, train.log, the learning
/// curve, and two checkpoints. A checkpoint is a folder (model.pt, optimizer.pt, state.json) written
/// beside the old one and swapped in by renames, so a run killed at any moment leaves a complete one.
/// </summary>
public sealed class RunFolder
{
    public string Path { get; }

    public RunFolder(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(Path);
    }

    public string ConfigPath => File("config.yaml");
    public string MetricsPath => File("metrics.csv");
    public string EmissionsPath => File("emissions.csv");
    public string LogPath => File("train.log");
    public string LearningCurvePath => File("learning-curve.png");
    public string LrFinderPlotPath => File("lr-finder.png");
    public const string SummaryFileName = Models.CheckpointManifest.RunSummaryFileName;
    public string SummaryPath => File(SummaryFileName);
    public string BestModelPath => System.IO.Path.Combine(CheckpointFolder("best"), "model.pt");
    public string LastFolder => CheckpointFolder("last");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    private string CheckpointFolder(string name) => System.IO.Path.Combine(Path, "checkpoints", name);

    /// <summary>Writes a checkpoint through <paramref name="write"/> (given a fresh folder) and swaps it in.</summary>
    public void SaveCheckpoint(string name, Action<string> write)
    {
        string target = CheckpointFolder(name);
        string temp = target + ".tmp", old = target + ".old";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        write(temp);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(target)) Directory.Move(target, old);
        Directory.Move(temp, target);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <summary>The newest complete checkpoint folder of that name, also when a swap was interrupted.</summary>
    public string? FindCheckpoint(string name)
    {
        string target = CheckpointFolder(name), old = target + ".old";
        if (Directory.Exists(target)) return target;
        return Directory.Exists(old) ? old : null;
    }

    public static void WriteState(string folder, ResumeState state) =>
        AtomicFile.WriteAllText(System.IO.Path.Combine(folder, "state.json"), JsonSerializer.Serialize(state, JsonOptions));

    public static ResumeState ReadState(string folder)
    {
        string path = System.IO.Path.Combine(folder, "state.json");
        if (!System.IO.File.Exists(path)) throw new InvalidInputException(path, "checkpoint has no state.json");
        try
        {
            return JsonSerializer.Deserialize<ResumeState>(System.IO.File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidInputException(path, "empty resume state");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"unreadable resume state ({e.Message})", e);
        }
    }

    public void Log(string line)
    {
        System.IO.File.AppendAllText(LogPath, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss}Z {line}{Environment.NewLine}");
    }

    // A final run has no validation: its Dice figures are NaN, written as "NaN".
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
}
