using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Evaluation;

/// <summary>One matched case: its metrics, or the reason it could not be evaluated.</summary>
public sealed record CaseResult(CasePair Files, VoxelGrid? Grid, CaseMetrics? Metrics, string? Error)
{
    public string Name => Files.Name;
    public bool Succeeded => Metrics is not null;
}

/// <summary>All cases of a folder evaluation, the files left unmatched on either side, and the summary.</summary>
public sealed class EvaluationReport
{
    public string PredictionFolder { get; }
    public string TruthFolder { get; }
    public IReadOnlyList<CaseResult> Cases { get; }
    public IReadOnlyList<string> UnmatchedPredictions { get; }
    public IReadOnlyList<string> UnmatchedTruths { get; }

    /// <summary>Over the cases that were evaluated; failed cases are listed in <see cref="Failed"/>.</summary>
    public MetricsSummary Summary { get; }

    public IReadOnlyList<CaseResult> Failed { get; }

    public EvaluationReport(string predictionFolder, string truthFolder, IReadOnlyList<CaseResult> cases,
        IReadOnlyList<string> unmatchedPredictions, IReadOnlyList<string> unmatchedTruths)
    {
        PredictionFolder = predictionFolder;
        TruthFolder = truthFolder;
        Cases = cases;
        UnmatchedPredictions = unmatchedPredictions;
        UnmatchedTruths = unmatchedTruths;
        Summary = MetricsSummary.From(cases.Where(c => c.Succeeded).Select(c => c.Metrics!));
        Failed = [.. cases.Where(c => !c.Succeeded)];
    }
}

/// <summary>
/// Compares predicted masks with reference masks stored as NIfTI files. Both are binarised with
/// <see cref="NiftiImage.BinaryMask"/> (stored value &gt; 0); the voxel spacing comes from the truth file.
/// </summary>
public static class Evaluator
{
    /// <summary>The truth's geometry with both masks; the shapes must agree.</summary>
    public static CaseMetrics Evaluate(NiftiImage prediction, NiftiImage truth)
    {
        VoxelGrid grid = truth.Grid;
        if (!grid.SameShape(prediction.Grid))
            throw new InvalidInputException(prediction.SourcePath ?? "prediction",
                $"shape {Shape(prediction)} differs from the truth{(truth.SourcePath is null ? "" : $" {truth.SourcePath}")} ({Shape(truth)})");
        return SegmentationMetrics.Compute(prediction.BinaryMask(), truth.BinaryMask(), grid);
    }

    /// <summary>Reads and compares two files; <see cref="InvalidInputException"/> when one is unreadable or the shapes differ.</summary>
    public static CaseMetrics EvaluateFiles(string predictionPath, string truthPath) =>
        Evaluate(NiftiImage.Read(predictionPath), NiftiImage.Read(truthPath));

    /// <summary>
    /// Matches the folders' files by case name (<see cref="CaseMatching"/>) and evaluates every pair;
    /// a case that cannot be read or whose shapes differ is reported as failed and the others go on.
    /// Throws when no file of one folder matches a file of the other.
    /// </summary>
    public static EvaluationReport EvaluateFolders(string predictionFolder, string truthFolder,
        IProgress<CaseResult>? progress = null, CancellationToken cancellationToken = default)
    {
        var matching = CaseMatching.MatchFolders(predictionFolder, truthFolder);
        if (matching.Pairs.Count == 0)
            throw new GreenSegException(
                $"no case names match between {predictionFolder} ({Listing(matching.UnmatchedPredictions)}) and {truthFolder} ({Listing(matching.UnmatchedTruths)}); " +
                $"names are compared without .nii/.nii.gz and one of the suffixes {string.Join(", ", CaseMatching.KnownSuffixes)}");

        var results = new List<CaseResult>();
        foreach (var pair in matching.Pairs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = EvaluateCase(pair);
            results.Add(result);
            progress?.Report(result);
        }
        return new EvaluationReport(predictionFolder, truthFolder, results, matching.UnmatchedPredictions, matching.UnmatchedTruths);
    }

    private static CaseResult EvaluateCase(CasePair pair)
    {
        try
        {
            var truth = NiftiImage.Read(pair.TruthPath);
            var prediction = NiftiImage.Read(pair.PredictionPath);
            return new CaseResult(pair, truth.Grid, Evaluate(prediction, truth), null);
        }
        catch (GreenSegException e)
        {
            return new CaseResult(pair, null, null, e.Message);
        }
    }

    private static string Shape(NiftiImage image) => $"{image.SizeX}x{image.SizeY}x{image.SizeZ}";

    private static string Listing(IReadOnlyList<string> files) => files.Count switch
    {
        0 => "no NIfTI files",
        <= 4 => string.Join(", ", files),
        _ => $"{string.Join(", ", files.Take(4))} and {files.Count - 4} more",
    };
}
