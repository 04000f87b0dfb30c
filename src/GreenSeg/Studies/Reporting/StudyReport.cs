using System.Net;
using System.Text;
using GreenSeg.Common;

namespace GreenSeg.Studies.Reporting;

public sealed record ReportFiles(string Markdown, string Html, IReadOnlyList<string> Images);

/// <summary>
/// Writes a study's report: report.md (images beside it) and report.html (self-contained: images as
/// base64 data URIs, inline style, no external references). Both come from one list of blocks, so
/// they always say the same thing.
/// </summary>
public static class StudyReport
{
    public const string MarkdownName = "report.md", HtmlName = "report.html";

    public static ReportFiles Write(StudyResults results, string folder) => Write(Build(results), folder, $"GreenSeg study: {results.Name}");

    /// <summary>Writes any report made of blocks (a study's, a search's): its figures, report.md and the self-contained report.html.</summary>
    internal static ReportFiles Write(IReadOnlyList<Block> blocks, string folder, string title)
    {
        string root = Path.GetFullPath(folder);
        var images = new List<string>();
        foreach (var figure in blocks.OfType<Figure>())
        {
            string path = Path.Combine(root, figure.FileName);
            AtomicFile.WriteAllBytes(path, figure.Png);
            images.Add(path);
        }
        string markdown = Path.Combine(root, MarkdownName), html = Path.Combine(root, HtmlName);
        AtomicFile.WriteAllText(markdown, RenderMarkdown(blocks));
        AtomicFile.WriteAllText(html, RenderHtml(title, blocks));
        return new ReportFiles(markdown, html, images);
    }

    internal abstract record Block;
    internal sealed record Heading(int Level, string Text) : Block;
    internal sealed record Paragraph(string Text, bool Strong = false) : Block;
    internal sealed record Bullets(IReadOnlyList<string> Items) : Block;
    internal sealed record Table(IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows, IReadOnlyList<int> RightAligned) : Block;
    internal sealed record Figure(string FileName, string Caption, byte[] Png) : Block;

    internal static List<Block> Build(StudyResults r)
    {
        var blocks = new List<Block> { new Heading(1, $"GreenSeg study: {r.Name}") };
        if (r.Description.Length > 0) blocks.Add(new Paragraph(r.Description));
        blocks.Add(new Bullets([
            $"Data: {r.Data}",
            $"Split: {r.Split}",
            $"Machine: {r.Machine}",
            $"Baseline run: {r.BaselineRun}",
            $"Carbon: {r.Carbon}",
        ]));
        blocks.Add(r.AnyEstimated
            ? new Paragraph("Energy figures are ESTIMATED, not measured: no hardware energy counter (RAPL, NVML) was readable on this machine, " +
                "so energy comes from GreenSeg's documented model (process CPU time × per-core power from the CPU's TDP, plus resident memory × W/GiB). " +
                "Comparisons between runs on the same machine are meaningful; absolute joules are approximate.", Strong: true)
            : new Paragraph("Energy figures are measured by hardware counters (see the energy sources below)."));
        if (r.EnergyPlan.Length > 0) blocks.Add(new Bullets(r.EnergyPlan.Split('\n')));

        blocks.Add(new Heading(2, "Runs"));
        blocks.Add(new Paragraph("Dice: validation Dice per stack (3D) at the selected epoch, mean ± sd over validation stacks. Time and energy per epoch: " +
            "means over the epochs run (training and validation). Total energy: the whole run, including one-off costs such as the LR finder's sweep. " +
            "Dice/kJ: Dice over total energy. GMACs: multiply-accumulates of one forward pass of one slice."));
        blocks.Add(new Table(
            ["run", "changes", "status", "model", "parameters", "GMACs", "epochs", "val Dice", "s/epoch", "kJ/epoch", "kJ total", "Dice/kJ", "CO2eq g", "data wait"],
            r.TrainedRuns.Select(run => (IReadOnlyList<string>)
            [
                run.Name + (run.Name == r.BaselineRun ? " (baseline)" : ""), run.Changes.Length > 0 ? run.Changes : "-",
                run.Status.ToString().ToLowerInvariant(), run.Model, ReportFormat.Millions(run.Parameters), ReportFormat.Number(run.GigaMacs, 3),
                run.Epochs.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ReportFormat.Dice(run.DiceMean, run.DiceSd),
                ReportFormat.Number(run.SecondsPerEpoch, 1), ReportFormat.Number(run.KilojoulesPerEpoch, 3), ReportFormat.Number(run.TotalKilojoules, 2),
                ReportFormat.Number(run.DicePerKilojoule, 4), ReportFormat.Number(run.Co2Grams, 2), ReportFormat.Percent(run.DataWaitShare),
            ]).ToList(),
            [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]));
        var problems = r.TrainedRuns.Where(run => run.Status is not RunStatus.Finished).ToList();
        if (problems.Count > 0)
            blocks.Add(new Bullets(problems.Select(run => $"{run.Name}: {run.Status.ToString().ToLowerInvariant()}{(run.Error is { } e ? $" — {e}" : "")}").ToList()));

        if (r.MeasuresDeployment) AddDeployment(blocks, r);

        blocks.Add(new Heading(2, $"Each technique against the baseline ({r.BaselineRun})"));
        if (r.Comparisons.Count == 0)
        {
            blocks.Add(new Paragraph($"No comparison: the baseline run '{r.BaselineRun}' has not finished."));
        }
        else
        {
            blocks.Add(new Paragraph("Speed-up: baseline time per epoch / run time per epoch (above 1x is faster). Energy saving: 1 - run / baseline " +
                "(positive saves energy, negative costs more), per epoch and for the whole run. Dice change: run - baseline." +
                (r.AnyEstimated ? " Energy savings are computed from estimated energy." : "")));
            blocks.Add(new Table(["run", "changes", "speed-up (time/epoch)", "energy saving per epoch", "energy saving total", "Dice change"],
                r.Comparisons.Select(c => (IReadOnlyList<string>)
                [
                    c.Run, c.Changes.Length > 0 ? c.Changes : "-", ReportFormat.Factor(c.Speedup), ReportFormat.Percent(c.EpochEnergySaving, signed: true),
                    ReportFormat.Percent(c.TotalEnergySaving, signed: true), ReportFormat.Signed(c.DiceChange, 4),
                ]).ToList(),
                [2, 3, 4, 5]));
        }

        blocks.Add(new Heading(2, "Dice against energy"));
        var front = r.ParetoRuns;
        blocks.Add(new Paragraph(front.Count == 0
            ? "No finished run yet."
            : $"Finished runs only. Pareto front (no other run reaches a higher Dice for less energy): {string.Join(", ", front.Select(f => f.Name))}."));
        blocks.Add(new Figure("pareto.png", "Validation Dice against total energy per run; the Pareto front in green", StudyCharts.Pareto(r)));
        blocks.Add(new Heading(2, "Energy per epoch"));
        blocks.Add(new Figure("energy-per-epoch.png", "Mean energy per epoch of each run", StudyCharts.EnergyPerEpoch(r)));
        blocks.Add(new Heading(2, "Learning curves"));
        blocks.Add(new Figure("learning-curves.png", "Validation Dice per stack after each epoch", StudyCharts.LearningCurves(r)));
        blocks.Add(new Paragraph($"Made by `greenseg report` from {Path.GetFileName(r.DatabasePath)} (tables runs and epochs); per-run files are in runs/<name>/."));
        return blocks;
    }

    /// <summary>The deployment table: every run's model as deployed, trained and derived runs alike.</summary>
    private static void AddDeployment(List<Block> blocks, StudyResults r)
    {
        string stack = r.TimingStack.Length > 0 ? r.TimingStack : "timing";
        blocks.Add(new Heading(2, "Compression and deployment"));
        blocks.Add(new Paragraph("Each run's model as it would be deployed. Derived runs start from another run's model (from): pruned and fine-tuned on the study's split, " +
            "or only deployed differently (engine, precision, BatchNorm folded or not; every torch row folds BatchNorm unless it says otherwise). " +
            "File: model.pt, or the exported .onnx, in MB (10^6 bytes). Sparsity: share of the convolution weights that are zero. " +
            "Parameters and GMACs: of the deployed network (structured pruning shrinks them; zeros still count). " +
            "Deployed Dice: the validation stacks reassembled in 3D and segmented as greenseg segment does with that engine, after post-processing, mean ± sd over stacks " +
            "(the Runs table's Dice is training's validation, in the network's prepared geometry). " +
            $"s and J per stack: mean over the timed segmentations of a {stack} phantom stack after a warm-up (slice preparation, network, mapping back, post-processing), " +
            "energy from the same energy plan as training. Training kJ: the run's own training (a derived run: its fine-tuning, 0 without); " +
            "cumulative kJ adds the runs it descends from (parent, and a student's teacher)."));
        blocks.Add(new Table(
            ["run", "from", "compression and deployment", "status", "parameters", "GMACs", "file MB", "sparsity", "deployed Dice", $"s per {stack} stack", $"J per {stack} stack", "training kJ", "cumulative kJ"],
            r.Runs.Select(run => (IReadOnlyList<string>)
            [
                run.Name, run.Parent ?? "-", run.Derivation.Length > 0 ? run.Derivation : StudyInference.Default.ToString(), run.Status.ToString().ToLowerInvariant(),
                ReportFormat.Millions(run.Deployment?.Parameters ?? run.Parameters), ReportFormat.Number(run.Deployment?.GigaMacs ?? run.GigaMacs, 3),
                ReportFormat.Number(run.Deployment?.FileMegabytes, 2), ReportFormat.Percent(run.Deployment?.Sparsity),
                ReportFormat.Dice(run.Deployment?.DiceMean, run.Deployment?.DiceSd), ReportFormat.Number(run.Deployment?.SecondsPerStack, 3),
                ReportFormat.Number(run.Deployment?.JoulesPerStack, 1), ReportFormat.Number(run.TotalKilojoules, 2), ReportFormat.Number(run.CumulativeKilojoules, 2),
            ]).ToList(),
            [4, 5, 6, 7, 8, 9, 10, 11, 12]));
        var problems = r.Runs.Where(run => run.IsDerived && run.Status is not RunStatus.Finished).ToList();
        if (problems.Count > 0)
            blocks.Add(new Bullets(problems.Select(run => $"{run.Name}: {run.Status.ToString().ToLowerInvariant()}{(run.Error is { } e ? $" — {e}" : "")}").ToList()));
    }

    internal static string RenderMarkdown(IEnumerable<Block> blocks)
    {
        var text = new StringBuilder();
        foreach (var block in blocks)
        {
            switch (block)
            {
                case Heading h:
                    text.Append('#', h.Level).Append(' ').AppendLine(h.Text);
                    break;
                case Paragraph p:
                    text.AppendLine(p.Strong ? $"**{p.Text}**" : p.Text);
                    break;
                case Bullets b:
                    foreach (string item in b.Items) text.Append("- ").AppendLine(item);
                    break;
                case Table t:
                    text.AppendLine("| " + string.Join(" | ", t.Headers.Select(Cell)) + " |");
                    text.AppendLine("|" + string.Join("|", t.Headers.Select((_, i) => t.RightAligned.Contains(i) ? "---:" : "---")) + "|");
                    foreach (var row in t.Rows) text.AppendLine("| " + string.Join(" | ", row.Select(Cell)) + " |");
                    break;
                case Figure f:
                    text.AppendLine($"![{f.Caption}]({f.FileName})");
                    break;
            }
            text.AppendLine();
        }
        return text.ToString();

        static string Cell(string value) => value.Replace("|", "\\|").Replace("\n", " ");
    }

    internal static string RenderHtml(string title, IEnumerable<Block> blocks)
    {
        static string E(string value) => WebUtility.HtmlEncode(value);
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html>").AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .AppendLine($"<title>{E(title)}</title>")
            .AppendLine("<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}" +
                "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px}th{background:#eef5ee}" +
                "td.num{text-align:right;font-variant-numeric:tabular-nums}.strong{font-weight:bold;background:#fff6e0;padding:0.5em;border-left:4px solid #e0a000}" +
                "figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:0.9em}code{background:#f4f4f4}</style>")
            .AppendLine("</head><body>");
        foreach (var block in blocks)
        {
            switch (block)
            {
                case Heading h:
                    html.AppendLine($"<h{h.Level}>{E(h.Text)}</h{h.Level}>");
                    break;
                case Paragraph p:
                    html.AppendLine(p.Strong ? $"<p class=\"strong\">{E(p.Text)}</p>" : $"<p>{E(p.Text)}</p>");
                    break;
                case Bullets b:
                    html.AppendLine("<ul>" + string.Concat(b.Items.Select(i => $"<li>{E(i)}</li>")) + "</ul>");
                    break;
                case Table t:
                    html.AppendLine("<table><thead><tr>" + string.Concat(t.Headers.Select(h => $"<th>{E(h)}</th>")) + "</tr></thead><tbody>");
                    foreach (var row in t.Rows)
                        html.AppendLine("<tr>" + string.Concat(row.Select((c, i) => t.RightAligned.Contains(i) ? $"<td class=\"num\">{E(c)}</td>" : $"<td>{E(c)}</td>")) + "</tr>");
                    html.AppendLine("</tbody></table>");
                    break;
                case Figure f:
                    html.AppendLine($"<figure><img alt=\"{E(f.Caption)}\" src=\"data:image/png;base64,{Convert.ToBase64String(f.Png)}\"><figcaption>{E(f.Caption)}</figcaption></figure>");
                    break;
            }
        }
        html.AppendLine("</body></html>");
        return html.ToString();
    }
}
