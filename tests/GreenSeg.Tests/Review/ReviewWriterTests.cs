using System.Text.RegularExpressions;
using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Review;
using Shouldly;

namespace GreenSeg.Tests.Review;

public sealed class ReviewWriterTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"greenseg-review-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Three phantom cases: exact, shifted (lower Dice) and empty, plus one that failed upstream.</summary>
    internal static IReadOnlyList<ReviewCase> Cases()
    {
        var grid = ReviewTestData.Grid(ReviewTestData.Phantom);
        byte[] truth = ReviewTestData.Phantom.Mask;
        return
        [
            new ReviewCase("exact", () => ReviewTestData.Volumes(truth, truth)) { Dice = 1.0, Hd95Mm = 0 },
            new ReviewCase("shifted <b>&", () => ReviewTestData.Volumes(ReviewTestData.Shifted(truth, grid, 4), truth)) { Dice = 0.8, Hd95Mm = 4, LargeComponentsBeforePostProcessing = 2 },
            new ReviewCase("empty", () => ReviewTestData.Volumes(new byte[grid.VoxelCount], truth)) { Dice = 0.0 },
            new ReviewCase("broken", null) { Error = "could not read broken.nii.gz" },
        ];
    }

    [Fact]
    public void Page_is_self_contained_and_lists_every_stack_with_its_mosaic_and_flags()
    {
        var result = ReviewWriter.Write(_folder, "test review", Cases());
        string html = File.ReadAllText(result.PagePath);
        html.ShouldStartWith("<!DOCTYPE html>");
        ReviewPage.IsGreenSegPage(result.PagePath).ShouldBeTrue();
        // Nothing is fetched from elsewhere: no URL, no linked stylesheet or script, every image embedded.
        html.ShouldNotContain("http:");
        html.ShouldNotContain("https:");
        html.ShouldNotContain("<link");
        html.ShouldNotContain("src=\"//");
        var sources = Regex.Matches(html, "<img [^>]*src=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        sources.Count.ShouldBe(3);
        foreach (string source in sources)
        {
            source.ShouldStartWith("data:image/png;base64,");
            byte[] png = Convert.FromBase64String(source["data:image/png;base64,".Length..]);
            png.AsSpan(1, 3).SequenceEqual("PNG"u8).ShouldBeTrue();
        }
        // Balanced table markup, names escaped.
        CountTag(html, "tr").ShouldBe(1 + 4);
        CountTag(html, "td").ShouldBe(4 * 8); // name, Dice, HD95, brain ml, reference ml, slices, flags, mosaic (no group column: no case has one)
        html.ShouldContain("shifted &lt;b&gt;&amp;");
        html.ShouldNotContain("<b>&");
        html.ShouldContain("data-images-total=\"3\"");

        result.Rows.Select(r => r.Name).ShouldBe(["exact", "shifted <b>&", "empty", "broken"]);
        result.Rows[0].Flags.ShouldBeEmpty();
        result.Rows[1].Flags.ShouldBe([ReviewFlag.SeveralComponents]);
        result.Rows[2].Flags.ShouldBe([ReviewFlag.EmptyMask]);
        result.Rows[3].Error.ShouldBe("could not read broken.nii.gz");
        result.Flagged.ShouldBe(3);
        html.ShouldContain("failed: could not read broken.nii.gz");
        foreach (var row in result.Rows.Where(r => r.MosaicFile is not null))
            PngEncoder.IsGreenSegPng(Path.Combine(result.MosaicFolder, row.MosaicFile!)).ShouldBeTrue();
        result.Rows[1].MosaicFile.ShouldBe("shifted__b__.png");
    }

    [Fact]
    public void A_case_that_cannot_be_loaded_becomes_a_row_with_its_error()
    {
        var result = ReviewWriter.Write(_folder, "review", [new ReviewCase("bad", () => throw new InvalidInputException("/data/bad.nii.gz", "truncated"))]);
        result.Rows.Single().Error.ShouldBe("/data/bad.nii.gz: truncated");
        File.ReadAllText(result.PagePath).ShouldContain("truncated");
    }

    [Fact]
    public void Its_own_files_are_replaced_but_files_it_did_not_write_are_refused()
    {
        ReviewWriter.Write(_folder, "first", Cases().Take(1));
        ReviewWriter.Write(_folder, "second", Cases().Take(1));
        File.ReadAllText(Path.Combine(_folder, ReviewWriter.PageFileName)).ShouldContain("second");

        string page = Path.Combine(_folder, ReviewWriter.PageFileName);
        File.WriteAllText(page, "<html>somebody's notes</html>");
        Should.Throw<InvalidInputException>(() => ReviewWriter.Write(_folder, "third", Cases().Take(1))).Path.ShouldBe(page);
        File.ReadAllText(page).ShouldBe("<html>somebody's notes</html>");

        File.Delete(page);
        string picture = Path.Combine(_folder, ReviewWriter.MosaicFolderName, "exact.png");
        File.WriteAllBytes(picture, [1, 2, 3]);
        var result = ReviewWriter.Write(_folder, "fourth", Cases().Take(1));
        result.Rows.Single().Error.ShouldNotBeNull().ShouldContain("not written by GreenSeg");
        File.ReadAllBytes(picture).ShouldBe([1, 2, 3]);
    }

    [Fact]
    public void File_names_are_safe_and_unique()
    {
        var used = new HashSet<string>();
        ReviewWriter.UniqueFileName("a/b", used).ShouldBe("a_b.png");
        ReviewWriter.UniqueFileName("a?b", used).ShouldBe("a_b-2.png");
        ReviewWriter.UniqueFileName("..", used).ShouldBe("stack...png");
        ReviewWriter.UniqueFileName("", used).ShouldBe("stack.png");
    }

    private static int CountTag(string html, string tag)
    {
        int opened = Regex.Matches(html, $"<{tag}[ >]").Count, closed = Regex.Matches(html, $"</{tag}>").Count;
        opened.ShouldBe(closed, $"<{tag}> opened {opened} times, closed {closed}");
        return opened;
    }
}
