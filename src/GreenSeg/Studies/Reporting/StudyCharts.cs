using ScottPlot;

namespace GreenSeg.Studies.Reporting;

/// <summary>The report's figures as PNG bytes (ScottPlot), sized to stay small in a self-contained page.</summary>
public static class StudyCharts
{
    private const int Width = 900, Height = 520;
    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    /// <summary>Validation Dice against the whole run's energy; the Pareto front joined and highlighted.</summary>
    public static byte[] Pareto(StudyResults results)
    {
        var plot = new Plot();
        var measured = results.ParetoCandidates;
        var front = results.ParetoRuns;
        if (front.Count > 0)
        {
            var line = plot.Add.ScatterLine(front.Select(r => r.TotalKilojoules!.Value).ToArray(), front.Select(r => r.DiceMean!.Value).ToArray());
            line.LineWidth = 2;
            line.LineColor = Colors.ForestGreen;
            line.LegendText = "Pareto front";
        }
        for (int i = 0; i < measured.Count; i++)
        {
            var run = measured[i];
            bool onFront = front.Contains(run);
            var point = plot.Add.Marker(run.TotalKilojoules!.Value, run.DiceMean!.Value);
            point.MarkerSize = onFront ? 14 : 9;
            point.Color = onFront ? Colors.ForestGreen : Colors.Gray;
            point.MarkerShape = onFront ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
            var label = plot.Add.Text(run.Name, run.TotalKilojoules!.Value, run.DiceMean!.Value);
            label.LabelFontSize = 12;
            label.LabelFontColor = onFront ? Colors.DarkGreen : Colors.DimGray;
            label.LabelAlignment = Alignment.LowerLeft;
            label.OffsetX = 6;
            label.OffsetY = -4;
        }
        plot.Title("Validation Dice against energy (whole run)");
        plot.XLabel($"energy per run, kJ{EstimatedSuffix(results)}");
        plot.YLabel("validation Dice per stack (best epoch)");
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
