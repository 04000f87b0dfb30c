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
    /// <summary>Relative difference of voxel spacings still taken as one grid (headers store spacing in float32).</summary>
    public const double SpacingTolerance = 1e-3;
    /// <summary>Smallest cosine between an axis of the prediction and the same axis of the truth still taken as one direction.</summary>
    public const double DirectionTolerance = 0.999;

    /// <summary>
    /// The truth's geometry with both masks. The shapes, voxel spacings and axis directions must agree: masks on
    /// different grids would be compared voxel by voxel as if they were one, and score as if nothing were wrong.
    /// </summary>
    public static CaseMetrics Evaluate(NiftiImage prediction, NiftiImage truth)
    {
        VoxelGrid grid = truth.Grid;
        string against = $"the truth{(truth.SourcePath is null ? "" : $" {truth.SourcePath}")}";
        string predictionName = prediction.SourcePath ?? "prediction";
        if (!grid.SameShape(prediction.Grid))
            throw new InvalidInputException(predictionName, $"shape {Shape(prediction)} differs from {against} ({Shape(truth)})");
        if (!SameSpacing(prediction, truth))
            throw new InvalidInputException(predictionName, $"voxel spacing {Spacing(prediction)} mm differs from {against} ({Spacing(truth)} mm): the masks are not on one grid");
        if (DifferentAxis(prediction, truth) is { } axis)
            throw new InvalidInputException(predictionName, $"its {axis} axis points another way in space than {against}'s (orientation differs): the masks are not on one grid");
        return SegmentationMetrics.Compute(prediction.BinaryMask(), truth.BinaryMask(), grid);
    }

    private static bool SameSpacing(NiftiImage a, NiftiImage b) =>
        new[] { (a.SpacingX, b.SpacingX), (a.SpacingY, b.SpacingY), (a.SpacingZ, b.SpacingZ) }
            .All(p => Math.Abs(p.Item1 - p.Item2) <= SpacingTolerance * Math.Max(Math.Abs(p.Item1), Math.Abs(p.Item2)));

    /// <summary>The first voxel axis (i, j, k) whose world direction differs between the two headers; null when all agree.</summary>
    private static string? DifferentAxis(NiftiImage a, NiftiImage b)
    {
        double[,] first = a.Header.Affine(), second = b.Header.Affine();
        for (int column = 0; column < 3; column++)
        {
            double dot = 0, lengthA = 0, lengthB = 0;
            for (int row = 0; row < 3; row++)
            {
                dot += first[row, column] * second[row, column];
                lengthA += first[row, column] * first[row, column];
                lengthB += second[row, column] * second[row, column];
            }
            // A header without a usable affine (zero column) says nothing about direction.
            if (lengthA == 0 || lengthB == 0 || !double.IsFinite(dot)) continue;
            if (dot / Math.Sqrt(lengthA * lengthB) < DirectionTolerance) return "ijk"[column].ToString();
        }
        return null;
    }

    private static string Spacing(NiftiImage image) =>
        FormattableString.Invariant($"{image.SpacingX:0.###} x {image.SpacingY:0.###} x {image.SpacingZ:0.###}");

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
