using System.Globalization;
using System.Text;
using GreenSeg.Common;
using GreenSeg.Training;

namespace GreenSeg.Tuning;

/// <summary>A trial with its rung results, summarised for the report.</summary>
public sealed record TrialSummary(TrialRecord Trial, IReadOnlyList<RungResult> Rungs)
{
    /// <summary>The result at the highest rung the trial reached.</summary>
    public RungResult? Last => Rungs.Count == 0 ? null : Rungs[^1];

    public int Epochs => Last?.Epochs ?? 0;

    /// <summary>Energy of one epoch (all folds with --cv), from its epochs alone.</summary>
    public double? KjPerEpoch => Last is { Epochs: > 0 } last ? last.EpochKj / last.Epochs : null;
}

/// <summary>A rung of the promotion ladder: how many trials reached it, how many of them went up, how many ended or failed there.</summary>
public sealed record LadderStep(int Rung, double Resource, int Reached, int Promoted, int Ended, double? BestScore);

/// <summary>
/// What training every trial to the end would have cost against what the search spent. An estimate: a trial successive
/// halving paused is taken on to the top rung at its own energy per epoch (with kJ rungs, to the top rung's energy); a
/// trial that ended on its own, failed or completed adds nothing. Setup costs a resumed trial pays again are not counted
/// against the search, so the saving is, if anything, understated.
/// </summary>
public sealed record HalvingSaving(double SpentKj, double FullTrainingKj)
{
    public double SavedKj => FullTrainingKj - SpentKj;
    public double SavedShare => FullTrainingKj > 0 ? SavedKj / FullTrainingKj : 0;
}

/// <summary>A search read back from its tune.db: what it is, every trial with its rung results, and the jobs in order.</summary>
public sealed record TuneResults
{
    public const string BestConfigName = "best.yaml";

    public required string DatabasePath { get; init; }
    public required string Name { get; init; }
    public string Source { get; init; } = "";
    public string Data { get; init; } = "";
    public TuneObjective Objective { get; init; }
    public string Seed { get; init; } = "";
    public string CrossValidation { get; init; } = "none";
    public RungUnit RungUnit { get; init; }
    public IReadOnlyList<double> RungResources { get; init; } = [];
    public string Rungs { get; init; } = "";
    public string Budget { get; init; } = "none";
    public string MaxTrials { get; init; } = "none";
    public string? Ended { get; init; }
    public string Machine { get; init; } = "";
    public string EnergyPlan { get; init; } = "";
    public string Carbon { get; init; } = "";
    public required IReadOnlyList<TrialSummary> Trials { get; init; }
    public required IReadOnlyList<TuneJob> Jobs { get; init; }

    public string Folder => Path.GetDirectoryName(DatabasePath)!;

    /// <summary>Everything the search cost: every trial's energy, trials ended, failed or cut early included, kJ.</summary>
    public double TotalKj => Trials.Sum(t => t.Trial.Kj);

    public bool AnyEstimated => Trials.Any(t => t.Trial.EnergyEstimated);

    public string FormatResource(double resource) => RungLadder.Format(RungUnit, resource);

    /// <summary>The best trial at the highest rung any trial reached (best score, ties to the earlier trial); null before any result.</summary>
    public TrialSummary? Best
    {
        get
        {
            var withResults = Trials.Where(t => t.Last is not null).ToList();
            if (withResults.Count == 0) return null;
            int top = withResults.Max(t => t.Last!.Rung);
            return withResults.Where(t => t.Rungs.Any(r => r.Rung == top))
                .OrderByDescending(t => Score(t.Rungs.First(r => r.Rung == top)))
                .ThenBy(t => t.Trial.Id).First();
        }
    }

    private static double Score(RungResult result) => double.IsNaN(result.Score) ? double.NegativeInfinity : result.Score;

    /// <summary>Per rung: trials that reached it, those promoted from it, those that ended (or failed) there, and its best score.</summary>
    public IReadOnlyList<LadderStep> Ladder => [.. RungResources.Select((resource, rung) =>
    {
        var reached = Trials.Where(t => t.Rungs.Any(r => r.Rung == rung)).ToList();
        int promoted = Trials.Count(t => Jobs.Any(j => j.Trial == t.Trial.Id && j.Rung > rung) && t.Rungs.Any(r => r.Rung == rung));
        int ended = reached.Count(t => t.Last!.Rung == rung && t.Trial.Status is TrialStatus.Stopped)
            + Trials.Count(t => t.Trial.Status == TrialStatus.Failed && Jobs.Where(j => j.Trial == t.Trial.Id).Select(j => j.Rung).DefaultIfEmpty(-1).Max() == rung);
        var scores = reached.Select(t => t.Rungs.First(r => r.Rung == rung).Score).Where(s => !double.IsNaN(s)).ToList();
        return new LadderStep(rung, resource, reached.Count, promoted, ended, scores.Count > 0 ? scores.Max() : null);
    })];

    /// <summary>The estimate of what training every trial to the top rung would have cost (<see cref="HalvingSaving"/>).</summary>
    public HalvingSaving Saving
    {
        get
        {
            double top = RungResources.Count > 0 ? RungResources[^1] : 0;
            // With --cv K a kJ rung is each fold's allowance.
            int folds = int.TryParse(CrossValidation, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) ? k : 1;
            double full = 0;
            foreach (var trial in Trials)
            {
                full += trial.Trial.Kj;
                if (trial.Trial.Status is not (TrialStatus.Paused or TrialStatus.Running) || trial.Last is not { } last) continue;
                full += RungUnit == RungUnit.Epochs
                    ? Math.Max(0, top - last.Epochs) * (trial.KjPerEpoch ?? 0)
                    : Math.Max(0, folds * top - last.EpochKj);
            }
            return new HalvingSaving(TotalKj, full);
        }
    }

    /// <summary>Trials with a Dice and an energy: the points of the Dice-against-kJ chart.</summary>
    public IReadOnlyList<TrialSummary> Measured => [.. Trials.Where(t => t.Last is { } last && !double.IsNaN(last.Dice) && t.Trial.Kj > 0)];

    /// <summary>The measured trials no other beats on both counts (a higher Dice for no more energy).</summary>
    public IReadOnlyList<TrialSummary> ParetoTrials
    {
        get
        {
            var measured = Measured;
            return [.. Studies.Reporting.ParetoFront.Indices([.. measured.Select(t => t.Trial.Kj)], [.. measured.Select(t => t.Last!.Dice)]).Select(i => measured[i])];
        }
    }

    /// <summary>
    /// The best trial's options as a config <c>greenseg train --config</c> reads, with a header saying where it comes from.
    /// With rungs in kJ the top rung's energy is written as its energy-budget, so the recipe trains as the trial did.
    /// </summary>
    public string BestConfig()
    {
        var best = Best ?? throw new GreenSegException($"{DatabasePath}: no trial has a result yet; nothing to write as the best recipe");
        var options = TrainingOptions.ParseWritten(best.Trial.OptionsYaml, $"{best.Trial.Name}'s options");
        if (RungUnit == RungUnit.Kilojoules && best.Last!.Rung == RungResources.Count - 1)
            options = options with { Stopping = options.Stopping with { EnergyBudget = RungResources[^1].ToString("0.###", CultureInfo.InvariantCulture) + "kJ" } };
        var last = best.Last!;
        var header = new StringBuilder()
            .AppendLine($"# The best recipe of search '{Name}' (greenseg tune {Path.GetFileName(Source)}): {best.Trial.Name}")
            .AppendLine($"# searched settings: {(best.Trial.Changes.Length > 0 ? best.Trial.Changes : "none")}")
            .AppendLine(Invariant($"# {ChoiceNames.Name(Objective)} {last.Score:0.0000} (validation Dice {last.Dice:0.0000}{(CrossValidation != "none" ? $", {CrossValidation}-fold cross-validated" : "")}) at {FormatResource(last.Resource)}, rung {last.Rung + 1} of {RungResources.Count}; the trial cost {best.Trial.Kj:0.00} kJ{(best.Trial.EnergyEstimated ? " (estimated)" : "")}"))
            .AppendLine("# train it: greenseg train --config best.yaml   (add --final to train on every stack for the same epochs)");
        return header + options.ToYaml();
    }

    /// <summary>Writes <see cref="BestConfig"/> to FOLDER/best.yaml; returns its path.</summary>
    public string WriteBestConfig(string folder)
    {
        string path = Path.Combine(Path.GetFullPath(folder), BestConfigName);
        AtomicFile.WriteAllText(path, BestConfig());
        return path;
    }

    public static TuneResults Load(string folderOrDatabase)
    {
        using var store = TuneStore.Open(folderOrDatabase, readOnly: true);
        var results = store.RungResults().ToLookup(r => r.Trial);
        string? Meta(string key) => store.GetMeta(key);
        return new TuneResults
        {
            DatabasePath = store.Path,
            Name = Meta("name") ?? Path.GetFileName(Path.GetDirectoryName(store.Path)) ?? "search",
            Source = Meta("source") ?? "",
            Data = Meta("data") ?? "",
            Objective = Meta("objective") is { } objective ? ChoiceNames.Parse<TuneObjective>(objective, "objective") : TuneObjective.Dice,
            Seed = Meta("seed") ?? "",
            CrossValidation = Meta("cv") ?? "none",
            RungUnit = Meta("rung_unit") is { } unit ? ChoiceNames.Parse<RungUnit>(unit, "rung unit") : RungUnit.Epochs,
            RungResources = Meta("rung_resources") is { Length: > 0 } resources
                ? [.. resources.Split(',').Select(r => double.Parse(r, NumberStyles.Float, CultureInfo.InvariantCulture))] : [],
            Rungs = Meta("rungs") ?? "",
            Budget = Meta("budget") ?? "none",
            MaxTrials = Meta("max_trials") ?? "none",
            Ended = Meta("ended"),
            Machine = Meta("machine") ?? "",
            EnergyPlan = Meta("energy_plan") ?? "",
            Carbon = Meta("carbon") ?? "",
            Trials = [.. store.Trials().Select(t => new TrialSummary(t, [.. results[t.Id]]))],
            Jobs = store.Jobs(),
        };
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
