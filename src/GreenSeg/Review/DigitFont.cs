namespace GreenSeg.Review;

/// <summary>A 3×5 pixel font for the digits 0-9, enough to label mosaic tiles with their slice index.</summary>
internal static class DigitFont
{
    public const int Width = 3, Height = 5;

    // One row of three bits per line, top row first, most significant bit on the left.
    private static readonly int[][] Glyphs =
    [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 2, 2, 2], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ];

    /// <summary>Whether the pixel at (column, row) of the digit's glyph is ink; row 0 is the top.</summary>
    public static bool Ink(int digit, int column, int row) => (Glyphs[digit][row] >> (Width - 1 - column) & 1) != 0;
}
