using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Review;
using Shouldly;

namespace GreenSeg.Tests.Review;

public class MaskMosaicTests
{
    /// <summary>Tile size 8 keeps the phantom's crop at one pixel per voxel.</summary>
    private static readonly MosaicOptions OnePixelPerVoxel = new() { TileSize = 8, MaxTiles = 64 };

    [Fact]
    public void Prediction_outline_is_exactly_the_mask_border_on_a_phantom()
    {
        var volumes = ReviewTestData.Volumes();
        var mosaic = MaskMosaic.Render(volumes, OnePixelPerVoxel);
        mosaic.Scale.ShouldBe(1);
        mosaic.Slices.Count.ShouldBeGreaterThan(3);
        int checkedBorder = 0;
        for (int t = 0; t < mosaic.Slices.Count; t++)
            ForEachPixel(mosaic, t, (px, py, voxel) =>
            {
                bool border = IsBorder(volumes.Prediction, volumes.Grid, mosaic, mosaic.Slices[t], px, py);
                bool red = Colour(mosaic, t, px, py) == MaskMosaic.PredictionColour;
                if (InLabel(mosaic, t, px, py)) return; // the slice number may cover a few border pixels
                red.ShouldBe(border, $"slice {mosaic.Slices[t]}, pixel ({px}, {py})");
                if (border) checkedBorder++;
            });
        checkedBorder.ShouldBeGreaterThan(100);
    }

    [Fact]
    public void Enlarged_tiles_draw_a_line_one_pixel_wide_inside_the_mask()
    {
        var volumes = ReviewTestData.Volumes();
        var mosaic = MaskMosaic.Render(volumes, new MosaicOptions { TileSize = 400, MaxTiles = 2 });
        mosaic.Scale.ShouldBeGreaterThan(1);
        for (int t = 0; t < mosaic.Slices.Count; t++)
            ForEachPixel(mosaic, t, (px, py, voxel) =>
            {
                if (Colour(mosaic, t, px, py) != MaskMosaic.PredictionColour) return;
                volumes.Prediction[voxel].ShouldBe((byte)1); // on the mask, not outside it
                // An outline pixel has a 4-neighbour pixel off the mask: the line is one pixel thick.
                bool offMaskNeighbour = new[] { (px - 1, py), (px + 1, py), (px, py - 1), (px, py + 1) }
                    .Any(p => VoxelAt(mosaic, t, p.Item1, p.Item2, volumes.Grid) is not int v || volumes.Prediction[v] == 0);
                offMaskNeighbour.ShouldBeTrue();
            });
    }

    [Fact]
    public void Reference_is_green_prediction_red_and_shared_border_yellow()
    {
        var grid = ReviewTestData.Grid(ReviewTestData.Phantom);
        byte[] shifted = ReviewTestData.Shifted(ReviewTestData.Phantom.Mask, grid, 3);
        var volumes = ReviewTestData.Volumes(prediction: shifted, reference: ReviewTestData.Phantom.Mask);
        var mosaic = MaskMosaic.Render(volumes, OnePixelPerVoxel);
        var seen = new HashSet<(byte, byte, byte)>();
        for (int t = 0; t < mosaic.Slices.Count; t++)
            ForEachPixel(mosaic, t, (px, py, voxel) =>
            {
                if (InLabel(mosaic, t, px, py)) return;
                bool p = IsBorder(volumes.Prediction, grid, mosaic, mosaic.Slices[t], px, py);
                bool r = IsBorder(volumes.Reference!, grid, mosaic, mosaic.Slices[t], px, py);
                var expected = p && r ? MaskMosaic.BothColour : p ? MaskMosaic.PredictionColour : r ? MaskMosaic.ReferenceColour : ((byte, byte, byte)?)null;
                var colour = Colour(mosaic, t, px, py);
                if (expected is { } e) { colour.ShouldBe(e); seen.Add(e); }
                else { colour.Item1.ShouldBe(colour.Item2); colour.Item2.ShouldBe(colour.Item3); } // gray image
            });
        seen.ShouldBe([MaskMosaic.PredictionColour, MaskMosaic.ReferenceColour, MaskMosaic.BothColour], ignoreOrder: true);
    }

    [Fact]
    public void With_a_reference_the_most_disagreeing_slices_come_first()
    {
        var grid = ReviewTestData.Grid(ReviewTestData.Phantom);
        byte[] prediction = (byte[])ReviewTestData.Phantom.Mask.Clone();
        int[] brainSlices = [.. Enumerable.Range(0, grid.SizeZ).Where(z => ReviewTestData.Phantom.BrainFraction(z) > 0)];
        int wrong = brainSlices[brainSlices.Length / 2];
        prediction.AsSpan(wrong * grid.SizeX * grid.SizeY, grid.SizeX * grid.SizeY).Clear(); // one slice missed entirely
        var mosaic = MaskMosaic.Render(ReviewTestData.Volumes(prediction, ReviewTestData.Phantom.Mask), new MosaicOptions { MaxTiles = 5 });
        mosaic.Slices[0].ShouldBe(wrong);
        mosaic.Slices.Count.ShouldBe(5);
        mosaic.Slices.ShouldAllBe(z => brainSlices.Contains(z));
    }

    [Fact]
    public void Without_a_reference_slices_around_the_brain_come_in_stack_order_and_are_thinned_evenly()
    {
        var grid = ReviewTestData.Grid(ReviewTestData.Phantom);
        int[] brainSlices = [.. Enumerable.Range(0, grid.SizeZ).Where(z => ReviewTestData.Phantom.BrainFraction(z) > 0)];
        var all = MaskMosaic.Render(ReviewTestData.Volumes(), new MosaicOptions { MaxTiles = 1024 });
        all.Slices.ShouldBe(Enumerable.Range(Math.Max(0, brainSlices[0] - 1), Math.Min(grid.SizeZ - 1, brainSlices[^1] + 1) - Math.Max(0, brainSlices[0] - 1) + 1));
        var few = MaskMosaic.Render(ReviewTestData.Volumes(), new MosaicOptions { MaxTiles = 4 });
        few.Slices.Count.ShouldBe(4);
        few.Slices.ShouldBeInOrder();
        few.Slices[0].ShouldBe(all.Slices[0]);
        few.Slices[^1].ShouldBe(all.Slices[^1]);
    }

    [Fact]
    public void Empty_masks_show_whole_slices_spread_over_the_stack()
    {
        var grid = ReviewTestData.Grid(ReviewTestData.Phantom);
        var mosaic = MaskMosaic.Render(ReviewTestData.Volumes(prediction: new byte[grid.VoxelCount]), new MosaicOptions { MaxTiles = 3, TileSize = 8 });
        (mosaic.CropWidth, mosaic.CropHeight).ShouldBe((grid.SizeX, grid.SizeY));
        mosaic.Slices.ShouldBe([0, (int)Math.Round((grid.SizeZ - 1) / 2.0), grid.SizeZ - 1]);
        mosaic.Rgb.Chunk(3).ShouldAllBe(c => c[0] == c[1] && c[1] == c[2]); // no outline anywhere
    }

    [Fact]
    public void Without_an_image_masks_are_drawn_as_fills_on_black()
    {
        var volumes = ReviewTestData.Volumes(image: false);
        var mosaic = MaskMosaic.Render(volumes, OnePixelPerVoxel);
        ForEachPixel(mosaic, 0, (px, py, voxel) =>
        {
            if (InLabel(mosaic, 0, px, py) || IsBorder(volumes.Prediction, volumes.Grid, mosaic, mosaic.Slices[0], px, py)) return;
            Colour(mosaic, 0, px, py).ShouldBe(volumes.Prediction[voxel] != 0 ? ((byte)90, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)0));
        });
    }

    [Fact]
    public void Png_is_marked_as_written_by_GreenSeg()
    {
        var mosaic = MaskMosaic.Render(ReviewTestData.Volumes(), new MosaicOptions { MaxTiles = 2 });
        string path = Path.Combine(Path.GetTempPath(), $"greenseg-mosaic-{Guid.NewGuid():N}.png");
        try
        {
            File.WriteAllBytes(path, mosaic.Png());
            PngEncoder.IsGreenSegPng(path).ShouldBeTrue();
            File.WriteAllBytes(path, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
            PngEncoder.IsGreenSegPng(path).ShouldBeFalse();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Volumes_of_another_shape_are_refused()
    {
        var grid = new VoxelGrid(4, 4, 2);
        Should.Throw<ArgumentException>(() => MaskMosaic.Render(new ReviewVolumes(grid, new float[5], new byte[32], null)));
        Should.Throw<ArgumentException>(() => MaskMosaic.Render(new ReviewVolumes(grid, null, new byte[32], new byte[31])));
    }

    private static void ForEachPixel(Mosaic mosaic, int tile, Action<int, int, int> visit)
    {
        var grid = ReviewTestData.Grid(ReviewTestData.Phantom);
        for (int py = 0; py < mosaic.TileHeight; py++)
            for (int px = 0; px < mosaic.TileWidth; px++)
                visit(px, py, VoxelAt(mosaic, tile, px, py, grid)!.Value);
    }

    private static int? VoxelAt(Mosaic mosaic, int tile, int px, int py, VoxelGrid grid) =>
        px < 0 || py < 0 || px >= mosaic.TileWidth || py >= mosaic.TileHeight ? null
            : grid.Index(mosaic.CropX + px / mosaic.Scale, mosaic.CropY + (mosaic.TileHeight - 1 - py) / mosaic.Scale, mosaic.Slices[tile]);

    /// <summary>A voxel of the mask with a 4-neighbour off the mask or outside the drawn crop.</summary>
    private static bool IsBorder(byte[] mask, VoxelGrid grid, Mosaic mosaic, int z, int px, int py)
    {
        int x = mosaic.CropX + px, y = mosaic.CropY + (mosaic.TileHeight - 1 - py);
        bool Off(int nx, int ny) => nx < mosaic.CropX || ny < mosaic.CropY || nx >= mosaic.CropX + mosaic.CropWidth || ny >= mosaic.CropY + mosaic.CropHeight
            || mask[grid.Index(nx, ny, z)] == 0;
        return mask[grid.Index(x, y, z)] != 0 && (Off(x - 1, y) || Off(x + 1, y) || Off(x, y - 1) || Off(x, y + 1));
    }

    private static (byte, byte, byte) Colour(Mosaic mosaic, int tile, int px, int py)
    {
        var (left, top) = mosaic.TileOrigin(tile);
        int o = 3 * (left + px + mosaic.Width * (top + py));
        return (mosaic.Rgb[o], mosaic.Rgb[o + 1], mosaic.Rgb[o + 2]);
    }

    /// <summary>The corner where the slice number is drawn (with its shadow).</summary>
    private static bool InLabel(Mosaic mosaic, int tile, int px, int py)
    {
        if (mosaic.TileHeight < 24) return false;
        int pixel = Math.Max(1, mosaic.TileHeight / 80), digits = mosaic.Slices[tile].ToString().Length;
        return px < (3 + digits * 4) * pixel && py < (3 + 5) * pixel;
    }
}
