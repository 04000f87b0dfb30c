using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CsvHelper;
using GreenSeg.Common;

namespace GreenSeg.Evaluation;

/// <summary>
/// Writes an evaluation as cases.csv (one row per matched case; an empty cell is an undefined value,
/// a failed case has only its error) and summary.json (statistics per metric, failures, unmatched files
/// and the conventions used), both atomically.
/// </summary>
public static class EvaluationReportFiles
{
    public const string CasesFileName = "cases.csv";
    public const string SummaryFileName = "summary.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Writes both files into the folder (created when missing) and returns their paths.</summary>
    public static (string CasesPath, string SummaryPath) Write(EvaluationReport report, string folder)
    {
        string casesPath = Path.Combine(folder, CasesFileName), summaryPath = Path.Combine(folder, SummaryFileName);
        AtomicFile.Write(casesPath, stream => WriteCases(report, stream));
        AtomicFile.WriteAllText(summaryPath, SummaryJson(report));
        return (casesPath, summaryPath);
    }

    public static void WriteCases(EvaluationReport report, Stream stream)
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        string[] header =
        [
            "case", "prediction", "truth", "size_x", "size_y", "size_z", "spacing_x_mm", "spacing_y_mm", "spacing_z_mm",
            .. CaseMetric.All.Select(m => m.Key),
            "predicted_volume_ml", "truth_volume_ml", "true_positives", "false_positives", "false_negatives", "error",
        ];
        foreach (string field in header) csv.WriteField(field);
        csv.NextRecord();
        foreach (var result in report.Cases)
        {
            csv.WriteField(result.Name);
            csv.WriteField(Path.GetFileName(result.Files.PredictionPath));
            csv.WriteField(Path.GetFileName(result.Files.TruthPath));
            var grid = result.Grid;
            foreach (double? value in (double?[])[grid?.SizeX, grid?.SizeY, grid?.SizeZ, grid?.SpacingX, grid?.SpacingY, grid?.SpacingZ])
                csv.WriteField(Format(value));
            var metrics = result.Metrics;
            foreach (var metric in CaseMetric.All)
                csv.WriteField(Format(metrics is null ? null : metric.Value(metrics)));
            foreach (double? value in (double?[])[metrics?.PredictedVolumeMl, metrics?.TruthVolumeMl,
                         metrics?.TruePositives, metrics?.FalsePositives, metrics?.FalseNegatives])
                csv.WriteField(Format(value));
            csv.WriteField(result.Error ?? "");
            csv.NextRecord();
        }
    }

    public static string SummaryJson(EvaluationReport report)
    {
        var document = new
        {
            PredictionFolder = Path.GetFullPath(report.PredictionFolder),
            TruthFolder = Path.GetFullPath(report.TruthFolder),
            MatchedCases = report.Cases.Count,
            EvaluatedCases = report.Summary.Cases,
            Metrics = report.Summary.Metrics,
            Failed = report.Failed.Select(f => new { Case = f.Name, f.Error }),
            report.UnmatchedPredictions,
            report.UnmatchedTruths,
            SegmentationMetrics.Conventions,
        };
        return JsonSerializer.Serialize(document, JsonOptions) + Environment.NewLine;
    }

    private static string Format(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
}
