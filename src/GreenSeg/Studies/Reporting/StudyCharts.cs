using ScottPlot;

namespace GreenSeg.Studies.Reporting;

/// <summary>A named point of a Dice-against-energy chart.</summary>
public sealed record ChartPoint(string Name, double Kilojoules, double Dice);

/// <summary>The report's figures as PNG bytes (ScottPlot), sized to stay small in a self-contained page.</summary>
public static class StudyCharts
{
    private const int Width = 900, Height = 520;
    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    /// <summary>Validation Dice against the whole run's energy; the Pareto front joined and highlighted.</summary>
    public static byte[] Pareto(StudyResults results) => Pareto(
        [.. results.ParetoCandidates.Select(r => new ChartPoint(r.Name, r.TotalKilojoules!.Value, r.DiceMean!.Value))],
        "Validation Dice against energy (whole run)", $"energy per run, kJ{EstimatedSuffix(results)}", "validation Dice per stack (best epoch)");

    /// <summary>
    /// Named points of Dice against energy (runs of a study, trials of a search); the Pareto front (no other point reaches a
    /// higher Dice for less energy) joined and highlighted in green, the other points grey.
    /// </summary>
    public static byte[] Pareto(IReadOnlyList<ChartPoint> points, string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        var frontIndices = ParetoFront.Indices([.. points.Select(p => p.Kilojoules)], [.. points.Select(p => p.Dice)]);
        var front = frontIndices.Select(i => points[i]).ToList();
        if (front.Count > 0)
        {
            var line = plot.Add.ScatterLine(front.Select(p => p.Kilojoules).ToArray(), front.Select(p => p.Dice).ToArray());
            line.LineWidth = 2;
            line.LineColor = Colors.ForestGreen;
            line.LegendText = "Pareto front";
        }
        for (int i = 0; i < points.Count; i++)
        {
            var point = points[i];
            bool onFront = frontIndices.Contains(i);
            var marker = plot.Add.Marker(point.Kilojoules, point.Dice);
            marker.MarkerSize = onFront ? 14 : 9;
            marker.Color = onFront ? Colors.ForestGreen : Colors.Gray;
            marker.MarkerShape = onFront ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
            var label = plot.Add.Text(point.Name, point.Kilojoules, point.Dice);
            label.LabelFontSize = 12;
            label.LabelFontColor = onFront ? Colors.DarkGreen : Colors.DimGray;
            label.LabelAlignment = Alignment.LowerLeft;
            label.OffsetX = 6;
            label.OffsetY = -4;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.Margins(0.1, 0.3, 0.15, 0.15);
        if (front.Count > 0) plot.ShowLegend(Alignment.LowerRight);
        return Png(plot);
    }

    /// <summary>Mean energy per epoch of each run as horizontal bars (names stay readable), the baseline on top and grey.</summary>
    public static byte[] EnergyPerEpoch(StudyResults results)
    {
        var plot = new Plot();
        var runs = results.Runs.Where(r => r.KilojoulesPerEpoch is not null).ToList();
        double Position(int i) => runs.Count - 1 - i;
        var bars = runs.Select((r, i) => new Bar
        {
            Position = Position(i),
            Value = r.KilojoulesPerEpoch!.Value,
            FillColor = r.Name == results.BaselineRun ? Colors.Gray : Palette.GetColor(2),
            Label = ReportFormat.Number(r.KilojoulesPerEpoch, 3),
        }).ToList();
        var barPlot = plot.Add.Bars(bars);
        barPlot.Horizontal = true;
        barPlot.ValueLabelStyle.FontSize = 12;
        plot.Axes.Left.SetTicks(runs.Select((_, i) => Position(i)).ToArray(), runs.Select(r => r.Name).ToArray());
        plot.Axes.Margins(left: 0, right: 0.15);
        plot.Title("Energy per epoch by run");
        plot.XLabel($"kJ per epoch{EstimatedSuffix(results)}");
        return Png(plot, height: 140 + 45 * Math.Max(1, runs.Count));
    }

    /// <summary>Validation Dice after each epoch, one line per run.</summary>
    public static byte[] LearningCurves(StudyResults results)
    {
        var plot = new Plot();
        int colour = 0;
        foreach (var run in results.Runs.Where(r => r.HasResults))
        {
            var line = plot.Add.Scatter(run.Epochs.Select(e => (double)e.Epoch + 1).ToArray(), run.Epochs.Select(e => e.ValidationDice).ToArray());
            line.LegendText = run.Name;
            line.Color = Palette.GetColor(colour++);
            line.LineWidth = run.Name == results.BaselineRun ? 3 : 2;
            line.MarkerSize = 6;
        }
        plot.Title("Learning curves");
        plot.XLabel("epoch");
        plot.YLabel("validation Dice per stack");
        plot.Axes.SetLimitsY(0, 1.02);
        plot.ShowLegend(Alignment.LowerRight);
        return Png(plot);
    }

    private static string EstimatedSuffix(StudyResults results) => results.AnyEstimated ? " (estimated)" : "";

    private static byte[] Png(Plot plot, int height = Height) => plot.GetImageBytes(Width, height, ImageFormat.Png);
}
