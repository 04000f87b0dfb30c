using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Review;

/// <summary>What a mosaic is drawn from: a stack's image (optional), its predicted mask and (optional) reference mask, on one grid.</summary>
public sealed record ReviewVolumes(VoxelGrid Grid, float[]? Image, byte[] Prediction, byte[]? Reference)
{
    public ReviewVolumes Validate()
    {
        Grid.RequireLength(Prediction.Length, "prediction");
        if (Image is not null) Grid.RequireLength(Image.Length, "image");
        if (Reference is not null) Grid.RequireLength(Reference.Length, "reference");
        return this;
    }
}

public sealed record MosaicOptions
{
    /// <summary>At most this many slices are drawn.</summary>
    public int MaxTiles { get; init; } = 24;
    public int Columns { get; init; } = 6;
    /// <summary>Tiles are enlarged by a whole factor until their longer side nears this many pixels.</summary>
    public int TileSize { get; init; } = 160;
    /// <summary>Context kept around the brain, as a fraction of its extent (at least <see cref="MinMarginVoxels"/>).</summary>
    public double MarginFraction { get; init; } = 0.3;
    public int MinMarginVoxels { get; init; } = 6;

    public MosaicOptions Validate()
    {
        if (MaxTiles is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(MaxTiles), MaxTiles, "must be 1..1024");
        if (Columns is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(Columns), Columns, "must be 1..64");
        if (TileSize is < 8 or > 2048) throw new ArgumentOutOfRangeException(nameof(TileSize), TileSize, "must be 8..2048 pixels");
        if (!(MarginFraction is >= 0 and <= 4)) throw new ArgumentOutOfRangeException(nameof(MarginFraction), MarginFraction, "must be 0..4");
        if (MinMarginVoxels is < 0 or > 1024) throw new ArgumentOutOfRangeException(nameof(MinMarginVoxels), MinMarginVoxels, "must be 0..1024");
        return this;
    }
}

/// <summary>
/// A drawn mosaic: RGB pixels, the slices in drawing order (row by row), the in-plane part of the stack shown,
/// and the whole-number enlargement. Tile t's top-left pixel is <see cref="TileOrigin"/>; pixel rows go down
/// while the stack's y goes up (radiology viewers show NIfTI slices so).
/// </summary>
public sealed record Mosaic(byte[] Rgb, int Width, int Height, IReadOnlyList<int> Slices, int Columns,
    int CropX, int CropY, int CropWidth, int CropHeight, int Scale)
{
    public const int Gap = 2;

    public int TileWidth => CropWidth * Scale;
    public int TileHeight => CropHeight * Scale;

    public (int Left, int Top) TileOrigin(int tile) => ((tile % Columns) * (TileWidth + Gap), (tile / Columns) * (TileHeight + Gap));

    public byte[] Png() => PngEncoder.EncodeRgb(Rgb, Width, Height);
}

/// <summary>
/// Draws a stack's slices side by side with the predicted mask's outline in red and the reference's in green
/// (yellow where they coincide), cropped to the brain with some context and enlarged to a size that shows it.
/// With a reference, the slices that disagree most come first; without, the slices around the predicted brain
/// in stack order. Each tile is labelled with its slice index. The image is windowed once per stack (0.5-99.5
/// percentiles of what is shown), so tiles compare.
/// </summary>
public static class MaskMosaic
{
    public static readonly (byte R, byte G, byte B) PredictionColour = (255, 48, 48), ReferenceColour = (40, 220, 40),
        BothColour = (255, 230, 0), GapColour = (32, 32, 32);

    public static Mosaic Render(ReviewVolumes volumes, MosaicOptions? options = null)
    {
        volumes.Validate();
        options = (options ?? new MosaicOptions()).Validate();
        VoxelGrid grid = volumes.Grid;
        var (cropX, cropY, cropWidth, cropHeight) = CropBox(volumes, options);
        int scale = Math.Max(1, (int)Math.Round((double)options.TileSize / Math.Max(cropWidth, cropHeight)));
        int[] slices = ChooseSlices(volumes, options.MaxTiles);
        int columns = Math.Min(options.Columns, slices.Length), rows = (slices.Length + columns - 1) / columns;
        int tileWidth = cropWidth * scale, tileHeight = cropHeight * scale;
        int width = columns * tileWidth + (columns - 1) * Mosaic.Gap, height = rows * tileHeight + (rows - 1) * Mosaic.Gap;
        var rgb = new byte[checked(width * height * 3)];
        Fill(rgb, GapColour);
        var mosaic = new Mosaic(rgb, width, height, slices, columns, cropX, cropY, cropWidth, cropHeight, scale);
        var window = volumes.Image is null ? default : Window(volumes.Image, grid, slices, cropX, cropY, cropWidth, cropHeight);
        for (int t = 0; t < slices.Length; t++)
        {
            DrawTile(mosaic, t, volumes, window);
            if (tileHeight >= 24) DrawLabel(mosaic, t, slices[t]);
        }
        return mosaic;
    }

    /// <summary>The in-plane box of both masks grown by the margin, within the slice; the whole slice when both are empty.</summary>
    internal static (int X, int Y, int Width, int Height) CropBox(ReviewVolumes volumes, MosaicOptions options)
    {
        VoxelGrid grid = volumes.Grid;
        if (VoxelBox.Enclosing(grid, volumes.Prediction, volumes.Reference) is not VoxelBox box) return (0, 0, grid.SizeX, grid.SizeY);
        int marginX = Math.Max(options.MinMarginVoxels, (int)Math.Ceiling(options.MarginFraction * box.SizeX));
        int marginY = Math.Max(options.MinMarginVoxels, (int)Math.Ceiling(options.MarginFraction * box.SizeY));
        int x0 = Math.Max(0, box.MinX - marginX), x1 = Math.Min(grid.SizeX, box.MinX + box.SizeX + marginX);
        int y0 = Math.Max(0, box.MinY - marginY), y1 = Math.Min(grid.SizeY, box.MinY + box.SizeY + marginY);
        return (x0, y0, x1 - x0, y1 - y0);
    }

    /// <summary>
    /// With a reference: slices where either mask has brain, most disagreeing voxels first (then more brain, then
    /// lower index). Without: the slices from one below to one above the predicted brain, in order. Too many are
    /// thinned evenly; when no slice has brain, evenly spaced slices of the whole stack.
    /// </summary>
    internal static int[] ChooseSlices(ReviewVolumes volumes, int maxTiles)
    {
        VoxelGrid grid = volumes.Grid;
        int sliceLength = grid.SizeX * grid.SizeY;
        var prediction = volumes.Prediction;
        var reference = volumes.Reference;
        var brain = new int[grid.SizeZ];
        var disagreement = new int[grid.SizeZ];
        for (int z = 0; z < grid.SizeZ; z++)
            for (int i = z * sliceLength; i < (z + 1) * sliceLength; i++)
            {
                bool p = prediction[i] != 0, r = reference is not null && reference[i] != 0;
                if (p || r) brain[z]++;
                if (p != r) disagreement[z]++;
            }
        int[] withBrain = [.. Enumerable.Range(0, grid.SizeZ).Where(z => brain[z] > 0)];
        if (withBrain.Length == 0) return Thin(Enumerable.Range(0, grid.SizeZ).ToArray(), maxTiles);
        if (reference is not null)
            return [.. withBrain.OrderByDescending(z => disagreement[z]).ThenByDescending(z => brain[z]).ThenBy(z => z).Take(maxTiles)];
        int first = Math.Max(0, withBrain[0] - 1), last = Math.Min(grid.SizeZ - 1, withBrain[^1] + 1);
        return Thin(Enumerable.Range(first, last - first + 1).ToArray(), maxTiles);
    }

    private static int[] Thin(int[] slices, int count) =>
        slices.Length <= count ? slices
            : [.. Enumerable.Range(0, count).Select(k => slices[(int)Math.Round(k * (slices.Length - 1) / (double)(count - 1))]).Distinct()];

    private static (float Low, float Range) Window(float[] image, VoxelGrid grid, int[] slices, int cropX, int cropY, int cropWidth, int cropHeight)
    {
        var values = new List<float>(slices.Length * cropWidth * cropHeight);
        foreach (int z in slices)
            for (int y = cropY; y < cropY + cropHeight; y++)
                for (int x = cropX; x < cropX + cropWidth; x++)
                {
                    float v = image[grid.Index(x, y, z)];
                    if (float.IsFinite(v)) values.Add(v);
                }
        if (values.Count == 0) return (0, 1);
        values.Sort();
        float low = values[(int)(0.005 * (values.Count - 1))], high = values[(int)(0.995 * (values.Count - 1))];
        return (low, high > low ? high - low : 1f);
    }

    private static void DrawTile(Mosaic mosaic, int tile, ReviewVolumes volumes, (float Low, float Range) window)
    {
        VoxelGrid grid = volumes.Grid;
        int z = mosaic.Slices[tile];
        var (left, top) = mosaic.TileOrigin(tile);
        int scale = mosaic.Scale, tileWidth = mosaic.TileWidth, tileHeight = mosaic.TileHeight;
        // Voxel index of a tile pixel, or -1 outside the tile.
        int Voxel(int px, int py) => px < 0 || py < 0 || px >= tileWidth || py >= tileHeight ? -1
            : grid.Index(mosaic.CropX + px / scale, mosaic.CropY + (tileHeight - 1 - py) / scale, z);
        for (int py = 0; py < tileHeight; py++)
            for (int px = 0; px < tileWidth; px++)
            {
                int voxel = Voxel(px, py);
                bool predictionEdge = IsOutline(volumes.Prediction, voxel, Voxel(px - 1, py), Voxel(px + 1, py), Voxel(px, py - 1), Voxel(px, py + 1));
                bool referenceEdge = volumes.Reference is { } reference
                    && IsOutline(reference, voxel, Voxel(px - 1, py), Voxel(px + 1, py), Voxel(px, py - 1), Voxel(px, py + 1));
                (byte R, byte G, byte B) colour = predictionEdge && referenceEdge ? BothColour
                    : predictionEdge ? PredictionColour
                    : referenceEdge ? ReferenceColour
                    : Background(volumes, voxel, window);
                Put(mosaic, left + px, top + py, colour);
            }
    }

    /// <summary>A pixel inside the mask with a 4-neighbour pixel outside it (or outside the tile): a line one pixel wide on the mask's inner border.</summary>
    private static bool IsOutline(byte[] mask, int voxel, int left, int right, int up, int down) =>
        mask[voxel] != 0 && (Outside(mask, left) || Outside(mask, right) || Outside(mask, up) || Outside(mask, down));

    private static bool Outside(byte[] mask, int voxel) => voxel < 0 || mask[voxel] == 0;

    /// <summary>The windowed image; without an image, masks are shown as dark fills so their shapes still read.</summary>
    private static (byte, byte, byte) Background(ReviewVolumes volumes, int voxel, (float Low, float Range) window)
    {
        if (volumes.Image is { } image)
        {
            byte gray = (byte)Math.Clamp((image[voxel] - window.Low) / window.Range * 255f, 0f, 255f);
            return (gray, gray, gray);
        }
        bool p = volumes.Prediction[voxel] != 0, r = volumes.Reference is { } reference && reference[voxel] != 0;
        return ((byte)(p ? 90 : 0), (byte)(r ? 90 : 0), 0);
    }

    private static void DrawLabel(Mosaic mosaic, int tile, int slice)
    {
        string digits = slice.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int pixel = Math.Max(1, mosaic.TileHeight / 80);
        var (left, top) = mosaic.TileOrigin(tile);
        for (int d = 0; d < digits.Length; d++)
            for (int row = 0; row < DigitFont.Height; row++)
                for (int column = 0; column < DigitFont.Width; column++)
                {
                    if (!DigitFont.Ink(digits[d] - '0', column, row)) continue;
                    int x = left + 2 * pixel + (d * (DigitFont.Width + 1) + column) * pixel, y = top + 2 * pixel + row * pixel;
                    for (int dy = 0; dy <= pixel; dy++) // a shadow one font pixel down and right keeps digits legible on bright tissue
                        for (int dx = 0; dx <= pixel; dx++)
                            PutInTile(mosaic, tile, x + dx, y + dy, (0, 0, 0));
                    for (int dy = 0; dy < pixel; dy++)
                        for (int dx = 0; dx < pixel; dx++)
                            PutInTile(mosaic, tile, x + dx, y + dy, (255, 255, 255));
                }
    }

    private static void PutInTile(Mosaic mosaic, int tile, int x, int y, (byte, byte, byte) colour)
    {
        var (left, top) = mosaic.TileOrigin(tile);
        if (x < left + mosaic.TileWidth && y < top + mosaic.TileHeight) Put(mosaic, x, y, colour);
    }

    private static void Put(Mosaic mosaic, int x, int y, (byte R, byte G, byte B) colour)
    {
        int o = 3 * (x + mosaic.Width * y);
        mosaic.Rgb[o] = colour.R;
        mosaic.Rgb[o + 1] = colour.G;
        mosaic.Rgb[o + 2] = colour.B;
    }

    private static void Fill(byte[] rgb, (byte R, byte G, byte B) colour)
    {
        for (int o = 0; o < rgb.Length; o += 3) (rgb[o], rgb[o + 1], rgb[o + 2]) = colour;
    }
}
