using GreenSeg.Common;

namespace GreenSeg.Imaging;

/// <summary>One slice for a preview sheet: values indexed x + width * y, and an optional mask drawn as a red outline.</summary>
public sealed record PreviewTile(ReadOnlyMemory<float> Image, int Width, int Height, ReadOnlyMemory<byte> Mask = default);

/// <summary>
/// Writes slices side by side as an 8-bit RGB PNG for a quick look (no image library needed). Each
/// tile is windowed to its own 0.5-99.5 percentile range; row y = 0 is drawn at the bottom, as
/// radiology viewers show NIfTI slices; mask voxels on the mask's border are drawn red.
/// </summary>
public static class PreviewPng
{
    public static void Write(string path, IReadOnlyList<PreviewTile> tiles, int columns)
    {
        if (tiles.Count == 0) throw new ArgumentException("no tiles to draw", nameof(tiles));
        columns = Math.Clamp(columns, 1, tiles.Count);
        int rows = (tiles.Count + columns - 1) / columns;
        int cellWidth = tiles.Max(t => t.Width), cellHeight = tiles.Max(t => t.Height);
        int width = columns * cellWidth, height = rows * cellHeight;
        var rgb = new byte[width * height * 3];
        for (int t = 0; t < tiles.Count; t++)
            Draw(tiles[t], rgb, width, (t % columns) * cellWidth, (t / columns) * cellHeight + (cellHeight - tiles[t].Height));
        AtomicFile.Write(path, stream => PngEncoder.WriteRgb(stream, rgb, width, height));
    }

    private static void Draw(PreviewTile tile, byte[] rgb, int canvasWidth, int left, int top)
    {
        ReadOnlySpan<float> image = tile.Image.Span;
        ReadOnlySpan<byte> mask = tile.Mask.Span;
        float[] sorted = image.ToArray();
        Array.Sort(sorted);
        float low = sorted[(int)(0.005 * (sorted.Length - 1))], high = sorted[(int)(0.995 * (sorted.Length - 1))];
        float range = high > low ? high - low : 1f;
        for (int y = 0; y < tile.Height; y++)
        for (int x = 0; x < tile.Width; x++)
        {
            int i = x + tile.Width * y;
            byte gray = (byte)Math.Clamp((image[i] - low) / range * 255f, 0f, 255f);
            int o = 3 * (left + x + canvasWidth * (top + tile.Height - 1 - y));
            bool outline = !mask.IsEmpty && mask[i] != 0 && IsBorder(mask, tile.Width, tile.Height, x, y);
            rgb[o] = outline ? (byte)255 : gray;
            rgb[o + 1] = outline ? (byte)40 : gray;
            rgb[o + 2] = outline ? (byte)40 : gray;
        }
    }

    private static bool IsBorder(ReadOnlySpan<byte> mask, int width, int height, int x, int y) =>
        x == 0 || y == 0 || x == width - 1 || y == height - 1
        || mask[x - 1 + width * y] == 0 || mask[x + 1 + width * y] == 0
        || mask[x + width * (y - 1)] == 0 || mask[x + width * (y + 1)] == 0;
}
