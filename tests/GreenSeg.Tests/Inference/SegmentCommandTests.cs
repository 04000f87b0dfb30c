using System.Globalization;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Tests.Cli;

namespace GreenSeg.Tests.Inference;

[Collection(nameof(ConsoleCollection))]
public sealed class SegmentCommandTests(TinyModel model) : IClassFixture<TinyModel>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-segment-").FullName;
    private string Out => Path.Combine(_root, "out");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A test stack re-written with an oblique qform and sform, so that copying geometry is visible.</summary>
    private string ObliqueStack()
    {
        var image = NiftiImage.Read(model.TestStacks[0]);
        var header = image.Header;
        header.PixDim[0] = -1;   // qfac
        header.QFormCode = 1;
        (header.QuaternB, header.QuaternC, header.QuaternD) = (0.1, -0.2, 0.3);
        (header.QOffsetX, header.QOffsetY, header.QOffsetZ) = (-90.5, 40.25, 12);
        header.SFormCode = 2;
        header.SRowX = [0.9, 0.1, 0.05, -88];
        header.SRowY = [-0.1, 0.95, 0.2, 41];
        header.SRowZ = [0.02, -0.3, 2.9, 10];
        string path = Path.Combine(_root, "in", "oblique.nii.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        image.Write(path);
        return path;
    }

    [Fact]
    public void MasksKeepTheInputGeometryAndAreUint8ZeroOrOne()
    {
        string stack = ObliqueStack();
        string slice = NiftiFiles.InFolder(model.TrainImages)[5];

        var (exitCode, output) = CliRunner.Run("segment", "--model", model.RunFolder, stack, slice, "--out", Out, "--probabilities");

        exitCode.ShouldBe(0, output);
        foreach (string input in new[] { stack, slice })
        {
            var source = NiftiImage.Read(input);
            string stem = NiftiFiles.Stem(input);
            var mask = NiftiImage.Read(Path.Combine(Out, stem + "_mask.nii.gz"));
            ShouldHaveSameGeometry(mask, source);
            mask.Header.DataType.ShouldBe(NiftiDataType.UInt8);
            mask.Raw.ShouldAllBe(v => v == 0 || v == 1);

            var probabilities = NiftiImage.Read(Path.Combine(Out, stem + "_prob.nii.gz"));
            ShouldHaveSameGeometry(probabilities, source);
            probabilities.Header.DataType.ShouldBe(NiftiDataType.Float32);
            probabilities.Raw.ShouldAllBe(p => p >= 0 && p <= 1);
        }
        NiftiImage.Read(Path.Combine(Out, NiftiFiles.Stem(slice) + "_mask.nii.gz")).Header.Dim[0].ShouldBe(2);

        var rows = ReadReport();
        rows.Where(r => r["row"] == "stack").Select(r => (r["stack"], r["status"], r["slices"]))
            .ShouldBe([("oblique", "ok", NiftiImage.ReadHeader(stack).SizeZ.ToString(CultureInfo.InvariantCulture)), (NiftiFiles.Stem(slice), "ok", "1")]);
        var total = rows.Single(r => r["row"] == "all-stacks");
        double.Parse(total["energy_j"], CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
        total["energy_origin"].ShouldContain("cpu=");
        rows.Single(r => r["row"] == "model-load")["stack"].ShouldBe("micronet");
        File.Exists(Path.Combine(Out, BatchSegmentation.EmissionsFileName)).ShouldBeTrue();
        output.ShouldContain("all stacks");
    }

    [Fact]
    public void PreviewWritesAReviewPageAndEvaluateAddsTheReferenceAndDice()
    {
        string corrupt = Path.Combine(_root, "corrupt.nii.gz");
        File.WriteAllBytes(corrupt, [0x1f, 0x8b, 1, 2, 3]);

        var (exitCode, output) = CliRunner.Run(["segment", "-m", model.RunFolder, .. model.TestStacks, corrupt, "--out", Out, "--preview"]);

        exitCode.ShouldBe(3, output);
        output.ShouldContain("review.html");
        string page = File.ReadAllText(Path.Combine(Out, "review.html"));
        page.ShouldContain($"data-images-total=\"{model.TestStacks.Count}\"");
        page.ShouldContain("failed: ");
        foreach (string stack in model.TestStacks)
            File.Exists(Path.Combine(Out, "review", NiftiFiles.Stem(stack) + ".png")).ShouldBeTrue();

        string evaluation = Path.Combine(_root, "evaluation");
        (exitCode, output) = CliRunner.Run("evaluate", "--pred", Out, "--truth", model.TestMasks, "--images", model.TestImages, "--out", evaluation);
        exitCode.ShouldBe(0, output);
        page = File.ReadAllText(Path.Combine(evaluation, "review.html"));
        page.ShouldContain("reference ml");
        page.ShouldContain("data-dice=");
        Directory.GetFiles(Path.Combine(evaluation, "review"), "*.png").Length.ShouldBe(model.TestStacks.Count);

        (exitCode, output) = CliRunner.Run("evaluate", "--pred", Out, "--truth", model.TestMasks, "--out", Path.Combine(_root, "quiet"), "--no-preview");
        exitCode.ShouldBe(0, output);
        File.Exists(Path.Combine(_root, "quiet", "review.html")).ShouldBeFalse();
    }

    [Fact]
    public void ABadInputIsReportedAndTheOthersAreStillWritten()
    {
        string good = model.TestStacks[1];
        string corrupt = Path.Combine(_root, "corrupt.nii.gz");
        File.WriteAllBytes(corrupt, [0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8]);
        string missing = Path.Combine(_root, "missing.nii.gz");

        var (exitCode, output) = CliRunner.Run("segment", "-m", model.RunFolder, corrupt, good, missing, "--out", Out, "--suffix", "_brain");

        exitCode.ShouldBe(3, output);
        output.ShouldContain(corrupt);
        output.ShouldContain($"{missing}: not found");
        File.Exists(Path.Combine(Out, NiftiFiles.Stem(good) + "_brain.nii.gz")).ShouldBeTrue();
        File.Exists(Path.Combine(Out, "corrupt_brain.nii.gz")).ShouldBeFalse();
        var rows = ReadReport();
        rows.Where(r => r["row"] == "stack").Select(r => (r["stack"], r["status"]))
            .ShouldBe([("corrupt", "failed"), (NiftiFiles.Stem(good), "ok"), ("missing", "failed")], ignoreOrder: true);
        rows.Single(r => r["row"] == "all-stacks")["status"].ShouldBe("2 failed");
    }

    [Fact]
    public void RefusesToWriteOverAnInputAndLeavesItUntouched()
    {
        string folder = Path.Combine(_root, "scans");
        Directory.CreateDirectory(folder);
        string input = Path.Combine(folder, "case.nii.gz");
        File.Copy(model.TestStacks[1], input);
        byte[] before = File.ReadAllBytes(input);

        var (exitCode, output) = CliRunner.Run("segment", "-m", model.RunFolder, folder, "--out", folder, "--suffix", "");

        exitCode.ShouldBe(3, output);
        output.ShouldContain("refusing to overwrite");
        File.ReadAllBytes(input).ShouldBe(before);
        Directory.GetFiles(folder).ShouldBe([input]);
    }

    [Fact]
    public void TtaWithoutPostProcessingStillGivesAValidMask()
    {
        string input = model.TestStacks[1];

        var (exitCode, output) = CliRunner.Run("segment", "-m", model.RunFolder, input, "--out", Out, "--tta", "flips", "--no-postprocess",
            "--precision", "fp32", "--channels-last", "false", "--threshold", "0.3", "--batch-size", "3");

        exitCode.ShouldBe(0, output);
        var mask = NiftiImage.Read(Path.Combine(Out, NiftiFiles.Stem(input) + "_mask.nii.gz"));
        ShouldHaveSameGeometry(mask, NiftiImage.Read(input));
        mask.Raw.ShouldAllBe(v => v == 0 || v == 1);
    }

    private static void ShouldHaveSameGeometry(NiftiImage actual, NiftiImage expected)
    {
        var a = actual.Header;
        var e = expected.Header;
        a.Dim.ShouldBe(e.Dim);
        a.PixDim.ShouldBe(e.PixDim);
        (a.QFormCode, a.SFormCode, a.XyztUnits).ShouldBe((e.QFormCode, e.SFormCode, e.XyztUnits));
        (a.QuaternB, a.QuaternC, a.QuaternD, a.QOffsetX, a.QOffsetY, a.QOffsetZ).ShouldBe((e.QuaternB, e.QuaternC, e.QuaternD, e.QOffsetX, e.QOffsetY, e.QOffsetZ));
        a.SRowX.ShouldBe(e.SRowX);
        a.SRowY.ShouldBe(e.SRowY);
        a.SRowZ.ShouldBe(e.SRowZ);
        a.Affine().ShouldBe(e.Affine());
    }

    private List<Dictionary<string, string>> ReadReport()
    {
        using var reader = new StreamReader(Path.Combine(Out, BatchSegmentation.ReportFileName));
        using var csv = new CsvHelper.CsvReader(reader, CultureInfo.InvariantCulture);
        csv.Read();
        csv.ReadHeader();
        var rows = new List<Dictionary<string, string>>();
        while (csv.Read())
            rows.Add(csv.HeaderRecord!.ToDictionary(h => h, h => csv.GetField(h) ?? ""));
        return rows;
    }
}
