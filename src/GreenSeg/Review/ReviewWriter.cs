using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Review;

/// <summary>
/// One stack to review: how to load its volumes (called once, when its mosaic is drawn, so a long list never
/// holds more than one stack), what is already known about it, and the error that stopped it upstream (then
/// nothing is loaded and the row says why).
/// </summary>
public sealed record ReviewCase(string Name, Func<ReviewVolumes>? Load)
{
    public string? Group { get; init; }
    public double? Dice { get; init; }
    public double? Hd95Mm { get; init; }
    public int? LargeComponentsBeforePostProcessing { get; init; }
    public string? Error { get; init; }
}

/// <summary>A reviewed stack: its mosaic (file name under the review folder, and the PNG), facts, metrics and flags.</summary>
public sealed record ReviewRow(ReviewCase Case, int Slices, string? MosaicFile, byte[]? MosaicPng, int MosaicWidth, int MosaicHeight,
    MaskFacts? Facts, double? ReferenceMl, IReadOnlyList<ReviewFlag> Flags, string? Error)
{
    public string Name => Case.Name;
}

public sealed record ReviewResult(string PagePath, string MosaicFolder, IReadOnlyList<ReviewRow> Rows)
{
    public int Flagged => Rows.Count(r => r.Flags.Count > 0 || r.Error is not null);
}

/// <summary>
/// Writes FOLDER/review/&lt;stack&gt;.png (one <see cref="MaskMosaic"/> per stack) and FOLDER/review.html, a single
/// self-contained page (<see cref="ReviewPage"/>) with every mosaic embedded. Files are written atomically, and
/// an existing file is replaced only when GreenSeg wrote it.
/// </summary>
public static class ReviewWriter
{
    public const string PageFileName = "review.html", MosaicFolderName = "review";

    public static ReviewResult Write(string folder, string title, IEnumerable<ReviewCase> cases, ReviewOptions? options = null)
    {
        options = (options ?? new ReviewOptions()).Validate();
        string pagePath = Path.GetFullPath(Path.Combine(folder, PageFileName));
        string mosaicFolder = Path.GetFullPath(Path.Combine(folder, MosaicFolderName));
        RequireOwnFile(pagePath, ReviewPage.IsGreenSegPage);
        Directory.CreateDirectory(mosaicFolder);
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        var drawn = cases.Select(c => Draw(c, mosaicFolder, usedNames, options)).ToList();
        var flags = ReviewFlags.Assign(drawn.Select(r => r.Facts).ToList(), options);
        var rows = drawn.Select((row, i) => row with { Flags = flags[i] }).ToList();
        var result = new ReviewResult(pagePath, mosaicFolder, rows);
        AtomicFile.WriteAllText(pagePath, ReviewPage.Html(title, result, options));
        return result;
    }

    private static ReviewRow Draw(ReviewCase reviewCase, string mosaicFolder, HashSet<string> usedNames, ReviewOptions options)
    {
        if (reviewCase.Error is not null || reviewCase.Load is null)
            return new ReviewRow(reviewCase, 0, null, null, 0, 0, null, null, [], reviewCase.Error ?? "nothing to review");
        try
        {
            var volumes = reviewCase.Load().Validate();
            var mosaic = MaskMosaic.Render(volumes, options.Mosaic);
            byte[] png = mosaic.Png();
            string file = UniqueFileName(reviewCase.Name, usedNames);
            string path = Path.Combine(mosaicFolder, file);
            RequireOwnFile(path, PngEncoder.IsGreenSegPng);
            AtomicFile.WriteAllBytes(path, png);
            var facts = MaskFacts.Of(volumes.Prediction, volumes.Grid, reviewCase.LargeComponentsBeforePostProcessing);
            double? referenceMl = volumes.Reference is { } reference ? reference.Count(v => v != 0) * volumes.Grid.VoxelVolumeMl : null;
            return new ReviewRow(reviewCase, volumes.Grid.SizeZ, file, png, mosaic.Width, mosaic.Height, facts, referenceMl, [], null);
        }
        catch (InvalidInputException e)
        {
            return new ReviewRow(reviewCase, 0, null, null, 0, 0, null, null, [], $"{e.Path}: {e.Problem}");
        }
        catch (Exception e) when (e is GreenSegException or IOException)
        {
            return new ReviewRow(reviewCase, 0, null, null, 0, 0, null, null, [], e.Message);
        }
    }

    /// <summary>The stack's name with characters other than letters, digits, '.', '-' and '_' replaced, made unique.</summary>
    internal static string UniqueFileName(string name, HashSet<string> usedNames)
    {
        string stem = new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')]);
        if (stem.Length == 0 || stem.StartsWith('.')) stem = "stack" + stem;
        string file = stem + ".png";
        for (int k = 2; !usedNames.Add(file); k++) file = $"{stem}-{k}.png";
        return file;
    }

    private static void RequireOwnFile(string path, Func<string, bool> writtenByGreenSeg)
    {
        if (Directory.Exists(path)) throw new InvalidInputException(path, "is a folder where the review writes a file; choose another output folder");
        if (File.Exists(path) && !writtenByGreenSeg(path))
            throw new InvalidInputException(path, "exists and was not written by GreenSeg's review; move it or choose another output folder");
    }
}
