using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Imaging;

namespace GreenSeg.Evaluation;

/// <summary>A prediction file and the truth file with the same case name.</summary>
public sealed record CasePair(string Name, string PredictionPath, string TruthPath);

/// <summary>
/// Pairs prediction and truth NIfTI files by case name. The case name of a file is its name without
/// .nii.gz or .nii, and then without ONE trailing suffix from <see cref="KnownSuffixes"/> (the dataset's
/// mask suffixes, <see cref="StackNaming.MaskSuffixes"/>, plus prediction ones; case-sensitive, the
/// longest that fits is removed, never leaving an empty name). So T2W_vol0005_maskpred.nii.gz,
/// T2W_vol0005_mask.nii.gz and T2W_vol0005.nii.gz are all case "T2W_vol0005". Case names are then
/// compared exactly. Only the folder's own files (not subfolders) ending in .nii or .nii.gz are used.
/// </summary>
public sealed record CaseMatching(
    IReadOnlyList<CasePair> Pairs,
    IReadOnlyList<string> UnmatchedPredictions,
    IReadOnlyList<string> UnmatchedTruths)
{
    public static IReadOnlyList<string> KnownSuffixes { get; } =
        [.. StackNaming.MaskSuffixes.Concat(["_pred", "_prediction", "_gt"]).Distinct().OrderByDescending(s => s.Length)];

    /// <summary>The case name of a NIfTI file name (see the type's summary for the rule).</summary>
    public static string CaseName(string fileName)
    {
        string stem = NiftiFiles.Stem(fileName);
        foreach (string suffix in KnownSuffixes)
            if (stem.Length > suffix.Length && stem.EndsWith(suffix, StringComparison.Ordinal))
                return stem[..^suffix.Length];
        return stem;
    }

    /// <summary>Matches the NIfTI files of two folders; unmatched files are listed by file name.</summary>
    public static CaseMatching MatchFolders(string predictionFolder, string truthFolder) =>
        Match(NiftiFilesIn(predictionFolder, "prediction"), NiftiFilesIn(truthFolder, "truth"));

    /// <summary>Matches file paths; two files of one side with the same case name are an error.</summary>
    public static CaseMatching Match(IEnumerable<string> predictionPaths, IEnumerable<string> truthPaths)
    {
        var predictions = ByCaseName(predictionPaths, "prediction");
        var truths = ByCaseName(truthPaths, "truth");
        List<CasePair> pairs = [.. predictions.Keys.Where(truths.ContainsKey).Order(StringComparer.Ordinal)
            .Select(name => new CasePair(name, predictions[name], truths[name]))];
        return new CaseMatching(pairs, Unmatched(predictions, truths), Unmatched(truths, predictions));
    }

    private static List<string> Unmatched(Dictionary<string, string> side, Dictionary<string, string> other) =>
        [.. side.Where(entry => !other.ContainsKey(entry.Key)).Select(entry => Path.GetFileName(entry.Value)).Order(StringComparer.Ordinal)];

    private static Dictionary<string, string> ByCaseName(IEnumerable<string> paths, string side)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in paths)
        {
            string name = CaseName(path);
            if (byName.TryGetValue(name, out string? earlier))
                throw new GreenSegException(
                    $"{side} files {Path.GetFileName(earlier)} and {Path.GetFileName(path)} both name case '{name}'; keep one of them in {Path.GetDirectoryName(path)}");
            byName.Add(name, path);
        }
        return byName;
    }

    private static IEnumerable<string> NiftiFilesIn(string folder, string side)
    {
        if (!Directory.Exists(folder))
            throw new GreenSegException($"{side} folder {folder} does not exist");
        return NiftiFiles.InFolder(folder);
    }
}
