using GreenSeg.Training;

namespace GreenSeg.Studies.Reporting;

/// <summary>
/// One run of a study, summarised for the report. Dice is that of the selected (best) epoch, mean ± sd
/// over the validation stacks; time and energy per epoch are means over the epochs run; the total is
/// the whole run's energy (LR finder and other probes included), so a technique's one-off costs count.
/// </summary>
public sealed record RunSummary
{
    public required string Name { get; init; }
    public string Changes { get; init; } = "";
    public RunStatus Status { get; init; } = RunStatus.Finished;
    public string Model { get; init; } = "";
    public long Parameters { get; init; }
    public double GigaMacs { get; init; }
    public string? Error { get; init; }
    public string? StopReason { get; init; }
    public IReadOnlyList<EpochMetrics> Epochs { get; init; } = [];
    public int? BestEpoch { get; init; }
    public double? DiceMean { get; init; }
    public double? DiceSd { get; init; }
    public double? SecondsPerEpoch { get; init; }
    public double? KilojoulesPerEpoch { get; init; }
    public double? TotalKilojoules { get; init; }
    public double? Co2Grams { get; init; }
    public double? DataWaitShare { get; init; }
    public double? SlicesPerSecond { get; init; }
    public bool EnergyEstimated { get; init; }
    /// <summary>The run it is derived from (from:), null for a trained run.</summary>
    public string? Parent { get; init; }
    public string Derivation { get; init; } = "";
    /// <summary>Training energy with that of the runs it descends from (parent, teacher).</summary>
    public double? CumulativeKilojoules { get; init; }
    /// <summary>The deployed model measured, when the study measures it.</summary>
    public DeploymentMeasurement? Deployment { get; init; }

    public bool IsDerived => Parent is not null;

    /// <summary>Validation Dice bought per kJ of the whole run.</summary>
    public double? DicePerKilojoule => DiceMean is double dice && TotalKilojoules is > 0 and double kj ? dice / kj : null;

    public bool HasResults => Epochs.Count > 0;

    /// <summary>Finished with results: only such runs are compared (a failed or interrupted run's totals cover part of a run).</summary>
    public bool IsComplete => Status == RunStatus.Finished && HasResults;

    public static RunSummary From(StoredRun run, IReadOnlyList<EpochMetrics> epochs)
    {
        // The selected epoch is the last one marked best (the trainer marks each new best as it goes).
        var best = epochs.LastOrDefault(e => e.IsBest);
        double epochKj = epochs.Sum(e => e.EnergyKj);
        double seconds = epochs.Sum(e => e.EpochSeconds);
        return new RunSummary
        {
            Name = run.Name,
            Changes = run.Changes,
            Status = run.Status,
            Model = run.Model,
            Parameters = run.Parameters,
            GigaMacs = run.GigaMacs,
            Error = run.Error,
            StopReason = run.StopReason,
            Epochs = epochs,
            BestEpoch = best?.Epoch,
            DiceMean = best?.ValidationDice,
            DiceSd = best?.ValidationDiceSd,
            SecondsPerEpoch = epochs.Count > 0 ? seconds / epochs.Count : null,
            KilojoulesPerEpoch = epochs.Count > 0 ? epochKj / epochs.Count : null,
            TotalKilojoules = run.TotalEnergyKj ?? (epochs.Count > 0 ? epochKj : null),
            Co2Grams = run.Co2Grams ?? (epochs.Count > 0 ? epochs.Sum(e => e.Co2Grams) : null),
            DataWaitShare = seconds > 0 ? epochs.Sum(e => e.DataWaitSeconds) / seconds : null,
            SlicesPerSecond = epochs.Count > 0 ? epochs.Average(e => e.SlicesPerSecond) : null,
            EnergyEstimated = run.EnergyEstimated || epochs.Any(e => e.EnergyOrigin.Contains("estimated", StringComparison.Ordinal))
                || run.Deployment is { EnergyEstimated: true },
            Parent = run.Parent,
            Derivation = run.Derivation,
            CumulativeKilojoules = run.CumulativeEnergyKj,
            Deployment = run.Deployment,
        };
    }
}

/// <summary>A run against the study's baseline: how much faster, how much energy saved, what Dice it cost or gained.</summary>
public sealed record BaselineComparison(string Run, string Changes, double? Speedup, double? EpochEnergySaving, double? TotalEnergySaving, double? DiceChange)
{
    /// <summary>
    /// Speed-up = baseline time per epoch / run time per epoch (2 = twice as fast); savings = 1 - run / baseline
    /// (0.4 = 40% less energy; negative = more); Dice change = run - baseline. Null where either side lacks the figure.
    /// </summary>
    public static BaselineComparison Of(RunSummary baseline, RunSummary run) => new(
        run.Name, run.Changes,
        Ratio(baseline.SecondsPerEpoch, run.SecondsPerEpoch),
        Saving(baseline.KilojoulesPerEpoch, run.KilojoulesPerEpoch),
        Saving(baseline.TotalKilojoules, run.TotalKilojoules),
        run.DiceMean - baseline.DiceMean);

    private static double? Ratio(double? numerator, double? denominator) =>
        numerator is double n && denominator is > 0 and double d ? n / d : null;

    private static double? Saving(double? baseline, double? run) =>
        baseline is > 0 and double b && run is double r ? 1 - r / b : null;
}

/// <summary>The non-dominated points when lower cost and higher value are both better.</summary>
public static class ParetoFront
{
    /// <summary>Indices of the points no other point beats on both counts (at least as good on each, better on one), by ascending cost.</summary>
    public static IReadOnlyList<int> Indices(IReadOnlyList<double> cost, IReadOnlyList<double> value)
    {
        if (cost.Count != value.Count) throw new ArgumentException("cost and value need one entry per point");
        var front = new List<int>();
        for (int i = 0; i < cost.Count; i++)
        {
            bool dominated = false;
            for (int j = 0; j < cost.Count && !dominated; j++)
                dominated = j != i && cost[j] <= cost[i] && value[j] >= value[i] && (cost[j] < cost[i] || value[j] > value[i]);
            if (!dominated) front.Add(i);
        }
        return front.OrderBy(i => cost[i]).ThenByDescending(i => value[i]).ToList();
    }
}

/// <summary>A study read back from its database: what it is, and every run summarised.</summary>
public sealed record StudyResults
{
    public required string DatabasePath { get; init; }
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public string Data { get; init; } = "";
    public string Split { get; init; } = "";
    public string Machine { get; init; } = "";
    public string EnergyPlan { get; init; } = "";
    public string Carbon { get; init; } = "";
    /// <summary>The stack inference is timed on, e.g. "256x256x40", when the study measures deployment.</summary>
    public string TimingStack { get; init; } = "";
    public required string BaselineRun { get; init; }
    public required IReadOnlyList<RunSummary> Runs { get; init; }

    public bool AnyEstimated => Runs.Any(r => (r.HasResults || r.Deployment is not null) && r.EnergyEstimated);

    /// <summary>Runs trained from scratch (derived runs have no epochs of their own).</summary>
    public IReadOnlyList<RunSummary> TrainedRuns => Runs.Where(r => !r.IsDerived).ToList();

    /// <summary>Whether the study measured (or will measure) its runs' deployed models.</summary>
    public bool MeasuresDeployment => TimingStack.Length > 0 || Runs.Any(r => r.IsDerived || r.Deployment is not null);

    public RunSummary? Baseline => Runs.FirstOrDefault(r => r.Name == BaselineRun);

    /// <summary>Every other finished run against the baseline (empty until the baseline has finished).</summary>
    public IReadOnlyList<BaselineComparison> Comparisons =>
        Baseline is { IsComplete: true } baseline
            ? Runs.Where(r => r.Name != BaselineRun && r.IsComplete).Select(r => BaselineComparison.Of(baseline, r)).ToList()
            : [];

    /// <summary>Finished runs with both a Dice and a total energy: the points of the Pareto chart.</summary>
    public IReadOnlyList<RunSummary> ParetoCandidates => Runs.Where(r => r.IsComplete && r.DiceMean is not null && r.TotalKilojoules is not null).ToList();

    /// <summary>Finished runs on the Pareto front of validation Dice against total energy.</summary>
    public IReadOnlyList<RunSummary> ParetoRuns
    {
        get
        {
            var measured = ParetoCandidates;
            return ParetoFront.Indices(measured.Select(r => r.TotalKilojoules!.Value).ToList(), measured.Select(r => r.DiceMean!.Value).ToList())
                .Select(i => measured[i]).ToList();
        }
    }

    /// <summary>Data made inside the study folder (--data phantom) is named relative to it, so a report does not depend on where the study ran.</summary>
    private static string RelativeToStudy(string data, string studyFolder)
    {
        if (data.Length == 0) return data;
        string relative = Path.GetRelativePath(studyFolder, data);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? data : $"{relative} (in the study folder)";
    }

    /// <summary>Reads a study folder (or its study.db).</summary>
    public static StudyResults Load(string folderOrDatabase)
    {
        using var store = StudyStore.Open(folderOrDatabase, readOnly: true);
        var runs = store.Runs().Select(r => RunSummary.From(r, store.Epochs(r.Name))).ToList();
        return new StudyResults
        {
            DatabasePath = store.Path,
            Name = store.GetMeta("name") ?? Path.GetFileName(Path.GetDirectoryName(store.Path)) ?? "study",
            Description = store.GetMeta("description") ?? "",
            Data = RelativeToStudy(store.GetMeta("data") ?? "", Path.GetDirectoryName(store.Path)!),
            Split = store.GetMeta("split") ?? "",
            Machine = store.GetMeta("machine") ?? "",
            EnergyPlan = store.GetMeta("energy_plan") ?? "",
            Carbon = store.GetMeta("carbon") ?? "",
            TimingStack = store.GetMeta("timing_stack") ?? "",
            BaselineRun = store.GetMeta("baseline_run") ?? runs.FirstOrDefault()?.Name ?? "",
            Runs = runs,
        };
    }
}
