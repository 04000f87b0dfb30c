using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Studies.Reporting;
using static GreenSeg.Studies.Reporting.StudyReport;

namespace GreenSeg.Tuning;

/// <summary>The files of a search's report: report.md, report.html, the chart, and the best recipe as best.yaml.</summary>
public sealed record TuneReportFiles(ReportFiles Report, string? BestConfig);

/// <summary>
/// Writes a search's report in the studies' format (report.md with its images, a self-contained report.html): the search,
/// the best recipe (also written as best.yaml), the trials, the promotion ladder, the energy bill with the saving of
/// successive halving, Dice against kJ with its Pareto front, and the jobs in the order they ran.
/// </summary>
public static class TuneReport
{
    public static TuneReportFiles Write(TuneResults results, string? folder = null)
    {
        string root = Path.GetFullPath(folder ?? results.Folder);
        string? best = results.Best is null ? null : results.WriteBestConfig(root);
        return new TuneReportFiles(StudyReport.Write(Build(results), root, $"GreenSeg search: {results.Name}"), best);
    }

    internal static List<Block> Build(TuneResults r)
    {
        var blocks = new List<Block> { new Heading(1, $"GreenSeg search: {r.Name}") };
        blocks.Add(new Bullets([
            $"Search file: {r.Source}",
            $"Data: {r.Data}",
            $"Objective: {ChoiceNames.Name(r.Objective)} ({Definition(r.Objective)})",
            $"Scored on: {(r.CrossValidation == "none" ? "the validation split (held-out stacks, one split for every trial)" : $"{r.CrossValidation}-fold cross-validation by stack (the same folds for every trial)")}",
            $"Successive halving (ASHA): {r.Rungs}; the top 1/η of a rung's trials go up, as soon as a rung has enough results",
            $"Sampling seed: {r.Seed}; limits: budget {r.Budget}, trials {r.MaxTrials}",
            $"Ended: {r.Ended ?? "not yet (run the same tune command again to continue)"}",
            $"Machine: {r.Machine}",
            $"Carbon: {r.Carbon}",
        ]));
        blocks.Add(r.AnyEstimated
            ? new Paragraph("Energy figures are ESTIMATED, not measured: no hardware energy counter (RAPL, NVML) was readable on this machine, " +
                "so energy comes from GreenSeg's documented model (process CPU time × per-core power from the CPU's TDP, plus resident memory × W/GiB). " +
                "Comparisons between trials on the same machine are meaningful; absolute joules are approximate.", Strong: true)
            : new Paragraph("Energy figures are measured by hardware counters (see the energy sources below)."));
        if (r.EnergyPlan.Length > 0) blocks.Add(new Bullets(r.EnergyPlan.Split('\n')));

        blocks.Add(new Heading(2, "Best recipe"));
        if (r.Best is { Last: { } last } best)
        {
            blocks.Add(new Paragraph(Invariant(
                $"{best.Trial.Name} ({(best.Trial.Changes.Length > 0 ? best.Trial.Changes : "no searched setting")}): {ChoiceNames.Name(r.Objective)} {last.Score:0.0000}, validation Dice {last.Dice:0.0000} at {r.FormatResource(last.Resource)} (rung {last.Rung + 1} of {r.RungResources.Count}); the trial cost {best.Trial.Kj:0.00} kJ."), Strong: true));
            blocks.Add(new Paragraph($"Written as {TuneResults.BestConfigName}, a config `greenseg train --config {TuneResults.BestConfigName}` reads (the best trial at the highest rung any trial reached)."));
        }
        else blocks.Add(new Paragraph("No trial has a result yet."));

        blocks.Add(new Heading(2, "Trials"));
        blocks.Add(new Paragraph("Rungs: how many of the ladder's rungs the trial reached. Dice: the best validation Dice so far (mean over the held-out stacks). " +
            "Score: the objective, what rungs rank by. kJ: everything the trial cost (setup, LR finder, every epoch, every resume" +
            (r.CrossValidation == "none" ? "" : ", every fold and the scoring of held-out stacks") + "). kJ/epoch: its epochs alone."));
        blocks.Add(new Table(["trial", "settings", "status", "rungs", "epochs", "val Dice", "score", "kJ", "kJ/epoch"],
            [.. r.Trials.Select(t => (IReadOnlyList<string>)
            [
                t.Trial.Name + (t == r.Best ? " (best)" : ""), t.Trial.Changes.Length > 0 ? t.Trial.Changes : "-",
                ChoiceNames.Name(t.Trial.Status) + (t.Trial.Error is { } error ? $": {error}" : t.Last?.StopReason is { } stop && t.Trial.Status == TrialStatus.Stopped ? $" ({stop})" : ""),
                $"{t.Rungs.Count}/{r.RungResources.Count}", t.Epochs.ToString(CultureInfo.InvariantCulture),
                ReportFormat.Number(t.Last?.Dice, 4), ReportFormat.Number(t.Last?.Score, 4), ReportFormat.Number(t.Trial.Kj, 2), ReportFormat.Number(t.KjPerEpoch, 3),
            ])],
            [3, 4, 5, 6, 7, 8]));

        blocks.Add(new Heading(2, "Promotion ladder"));
        blocks.Add(new Table(["rung", "trained to", "trials", "promoted", "ended or failed there", "best score"],
            [.. r.Ladder.Select(step => (IReadOnlyList<string>)
            [
                (step.Rung + 1).ToString(CultureInfo.InvariantCulture), r.FormatResource(step.Resource), step.Reached.ToString(CultureInfo.InvariantCulture),
                step.Rung == r.RungResources.Count - 1 ? "-" : step.Promoted.ToString(CultureInfo.InvariantCulture), step.Ended.ToString(CultureInfo.InvariantCulture),
                ReportFormat.Number(step.BestScore, 4),
            ])],
            [0, 2, 3, 4, 5]));

        blocks.Add(new Heading(2, "Energy"));
        var saving = r.Saving;
        string top = r.FormatResource(r.RungResources.Count > 0 ? r.RungResources[^1] : 0);
        blocks.Add(new Paragraph(
            Invariant($"The search cost {r.TotalKj:0.00} kJ{(r.AnyEstimated ? " (estimated)" : "")} over {r.Trials.Count} trials and {r.Jobs.Count} jobs, every trial's energy included (trials cut at a rung, ended early or failed too). ") +
            Invariant($"Training every trial to the top rung ({top}) would have cost about {saving.FullTrainingKj:0.00} kJ: successive halving saved about {saving.SavedKj:0.00} kJ ({ReportFormat.Percent(saving.SavedShare)}). ") +
            "This is an estimate: each trial cut at a rung is taken on at its own energy per epoch" +
            (r.RungUnit == RungUnit.Kilojoules ? " (to the top rung's energy)" : "") + "; the setup a resumed trial pays again is not counted against the search, so the saving is if anything understated."));

        blocks.Add(new Heading(2, "Dice against energy"));
        var front = r.ParetoTrials;
        blocks.Add(new Paragraph(front.Count == 0 ? "No trial has a Dice yet."
            : $"Each trial at the highest rung it reached, against everything it cost. Pareto front (no other trial reaches a higher Dice for less energy): {string.Join(", ", front.Select(t => t.Trial.Name))}."));
        blocks.Add(new Figure("pareto.png", "Validation Dice against each trial's energy; the Pareto front in green",
            StudyCharts.Pareto([.. r.Measured.Select(t => new ChartPoint(t.Trial.Name.Replace("trial-", "t", StringComparison.Ordinal), t.Trial.Kj, t.Last!.Dice))],
                "Validation Dice against energy (whole trial)", $"energy per trial, kJ{(r.AnyEstimated ? " (estimated)" : "")}", "validation Dice (highest rung reached)")));

        blocks.Add(new Heading(2, "Jobs in order"));
        blocks.Add(new Table(["job", "trial", "to", "why", "kJ", "outcome"],
            [.. r.Jobs.Select(j => (IReadOnlyList<string>)
            [
                j.Sequence.ToString(CultureInfo.InvariantCulture), TrialRecord.TrialName(j.Trial),
                j.Rung < r.RungResources.Count ? r.FormatResource(r.RungResources[j.Rung]) : "?", ChoiceNames.Name(j.Kind),
                ReportFormat.Number(j.KjAfter - j.KjBefore, 2), j.Outcome ?? "running",
            ])],
            [0, 4]));
        blocks.Add(new Paragraph($"Made by `greenseg report` from {Path.GetFileName(r.DatabasePath)} (tables trials, rungs, jobs); each trial's run folder is in {TuneRunner.TrialsFolderName}/<trial>/."));
        return blocks;
    }

    /// <summary>What the objective means, for the report.</summary>
    public static string Definition(TuneObjective objective) => objective switch
    {
        TuneObjective.DicePerKj => "the best validation Dice so far divided by the trial's whole energy so far, kJ",
        TuneObjective.DiceAtBudget => "the best validation Dice among the epochs within the rung's energy (rungs in kJ give every trial the same energy; 0 when no epoch fits)",
        _ => "the best validation Dice so far",
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
