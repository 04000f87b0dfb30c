using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration.Attributes;
using GreenSeg.Common;
using ScottPlot;

namespace GreenSeg.Training;

/// <summary>One row of metrics.csv: what an epoch achieved and what it cost.</summary>
public sealed record EpochMetrics
{
    [Name("epoch")] public int Epoch { get; init; }
    [Name("train_loss")] public double TrainLoss { get; init; }
    [Name("val_loss")] public double ValidationLoss { get; init; }
    /// <summary>Mean over validation stacks of the 3D Dice of each stack (post-processed unless the run turned that off).</summary>
    [Name("val_dice")] public double ValidationDice { get; init; }
    [Name("val_dice_sd")] public double ValidationDiceSd { get; init; }
    /// <summary>The same mean on the thresholded network output, before post-processing.</summary>
    [Name("val_dice_raw"), Optional] public double ValidationDiceRaw { get; init; }
    [Name("lr")] public double LearningRate { get; init; }
    [Name("batch_size")] public int BatchSize { get; init; }
    [Name("epoch_s")] public double EpochSeconds { get; init; }
    [Name("train_s")] public double TrainSeconds { get; init; }
    [Name("data_wait_s")] public double DataWaitSeconds { get; init; }
    [Name("slices_per_s")] public double SlicesPerSecond { get; init; }
    [Name("energy_j")] public double EnergyJoules { get; init; }
    [Name("energy_kj")] public double EnergyKj => EnergyJoules / 1000;
    [Name("energy_wh")] public double EnergyWh => EnergyJoules / 3600;
    [Name("cpu_j")] public double CpuJoules { get; init; }
    [Name("ram_j")] public double RamJoules { get; init; }
    [Name("gpu_j")] public double GpuJoules { get; init; }
    [Name("energy_origin")] public string EnergyOrigin { get; init; } = "";
    [Name("co2eq_g")] public double Co2Grams { get; init; }
    [Name("cumulative_energy_kj")] public double CumulativeEnergyKj { get; init; }
    [Name("best")] public bool IsBest { get; init; }
}

public static class MetricsFile
{
    /// <summary>Rewrites metrics.csv with all rows so far (small; atomic, so a reader never sees half a row).</summary>
    public static void Write(string path, IEnumerable<EpochMetrics> rows) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
            csv.WriteRecords(rows);
        });

    public static List<EpochMetrics> Read(string path)
    {
        if (!File.Exists(path)) return [];
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        return csv.GetRecords<EpochMetrics>().ToList();
    }

    /// <summary>Losses and validation Dice against epochs.</summary>
    public static void PlotLearningCurve(string path, IReadOnlyList<EpochMetrics> rows, string title)
    {
        if (rows.Count == 0) return;
        var plot = new Plot();
        double[] epochs = rows.Select(r => (double)r.Epoch).ToArray();
        var train = plot.Add.Scatter(epochs, rows.Select(r => r.TrainLoss).ToArray());
        train.LegendText = "train loss";
        var validation = plot.Add.Scatter(epochs, rows.Select(r => r.ValidationLoss).ToArray());
        validation.LegendText = "validation loss";
        var dice = plot.Add.Scatter(epochs, rows.Select(r => r.ValidationDice).ToArray());
        dice.LegendText = "validation Dice (per stack)";
        dice.LineWidth = 2;
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel("loss / Dice");
        plot.Axes.SetLimitsY(0, 1.05);
        plot.ShowLegend(Edge.Bottom); // below the axes: the curves cross every corner of the data area
        string temp = path + ".tmp.png";
        plot.SavePng(temp, 900, 520);
        File.Move(temp, path, overwrite: true);
    }
}
