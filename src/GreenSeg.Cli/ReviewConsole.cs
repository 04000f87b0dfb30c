using GreenSeg.Review;

namespace GreenSeg.Cli;

/// <summary>Where the review page went and which stacks it flags.</summary>
internal static class ReviewConsole
{
    public static void Print(ReviewResult review)
    {
        ConsoleTable.Line($"review: {review.PagePath} ({review.Flagged} of {review.Rows.Count} stack(s) flagged; mosaics in {review.MosaicFolder})");
        foreach (var row in review.Rows.Where(r => r.Flags.Count > 0 || r.Error is not null))
            ConsoleTable.Line($"  {row.Name}: {(row.Error is { } error ? "failed: " + error : string.Join(", ", row.Flags.Select(ReviewFlags.Label)))}");
    }
}
