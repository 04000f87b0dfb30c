using GreenSeg.Review;

namespace GreenSeg.Cli;

/// <summary>Where the review page went and which stacks it flags.</summary>
internal static class ReviewConsole
{
    public static void Print(ReviewResult review)
    {
        ConsoleTable.Line($"review: {review.PagePath} ({review.Flagged} of {review.Rows.Count} stack(s) flagged; mosaics in {review.MosaicFolder})");
        foreach (var row in review.Rows.Where(r => r.Flags.Count > 0 && r.Error is null))
            ConsoleTable.Line($"  {row.Name}: {string.Join(", ", row.Flags.Select(ReviewFlags.Label))}");
        // One line per reason: a cross-validation without its predictions fails every stack the same way.
        foreach (var failed in review.Rows.Where(r => r.Error is not null).GroupBy(r => r.Error!, StringComparer.Ordinal))
            ConsoleTable.Line(failed.Count() == 1
                ? $"  {failed.First().Name}: failed: {failed.Key}"
                : $"  {failed.Count()} stacks ({string.Join(", ", failed.Select(r => r.Name))}): failed: {failed.Key}");
    }
}
