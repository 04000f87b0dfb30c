using System.Text.Json;
using GreenSeg.Cli.Commands;
using GreenSeg.Common;
using GreenSeg.Evaluation;
using GreenSeg.Imaging;
using Spectre.Console.Cli;

namespace GreenSeg.Tests.Evaluation;

public sealed class EvaluatorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-evaluate-").FullName;
    private string Predictions => Path.Combine(_root, "pred");
    private string Truths => Path.Combine(_root, "truth");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void EvaluatesMatchedStacksAndSlicesAndReportsTheRest()
    {
        WriteFixture();

        var report = Evaluator.EvaluateFolders(Predictions, Truths);

        report.Cases.Select(c => c.Name).ShouldBe(["mismatch", "slice", "spacing", "stack"]);
        report.UnmatchedPredictions.ShouldBe(["orphan_maskpred.nii.gz"]);
        report.UnmatchedTruths.ShouldBe(["lonely_mask.nii.gz"]);

        var stack = report.Cases.Single(c => c.Name == "stack").Metrics!;
        stack.Hd95Mm!.Value.ShouldBe(3, 1e-9);                 // the 3 mm slices
        stack.AssdMm!.Value.ShouldBe(1.5, 1e-9);
        stack.Dice.ShouldBe(0.5, 1e-12);

        var slice = report.Cases.Single(c => c.Name == "slice");
        slice.Grid!.Value.SizeZ.ShouldBe(1);
        slice.Metrics!.Dice.ShouldBe(1);

        report.Failed.Select(c => c.Name).ShouldBe(["mismatch", "spacing"]);
        string error = report.Failed[0].Error.ShouldNotBeNull();
        error.ShouldContain("4x4x2");
        error.ShouldContain("4x4x3");
        // Same shape, other spacing: not one grid, so no Dice (it would be 1 here, voxel for voxel).
        report.Failed[1].Error.ShouldNotBeNull().ShouldContain("voxel spacing 1 x 1 x 5 mm");
        report.Summary.Cases.ShouldBe(2);
        report.Summary[CaseMetric.Dice].Mean!.Value.ShouldBe(0.75, 1e-12);
    }

    [Fact]
    public void A_prediction_whose_axes_point_another_way_is_not_scored()
    {
        var grid = new VoxelGrid(3, 3, 2, 1, 1, 3);
        byte[] mask = new MaskBuilder(grid).Box(0, 0, 0, 2, 0, 1);
        var truth = NiftiImage.Create(3, 3, 2, 1, 1, 3, mask.Select(v => (float)v).ToArray(), NiftiDataType.UInt8);
        var mirrored = NiftiImage.Create(3, 3, 2, 1, 1, 3, mask.Select(v => (float)v).ToArray(), NiftiDataType.UInt8);
        mirrored.Header.SRowX = [-1, 0, 0, 2];

        Should.Throw<InvalidInputException>(() => Evaluator.Evaluate(mirrored, truth)).Problem.ShouldContain("i axis");
        Evaluator.Evaluate(truth, truth).Dice.ShouldBe(1);
    }

    [Fact]
    public void MissingFolderOrNoMatchIsAClearError()
    {
        Directory.CreateDirectory(Predictions);
        Directory.CreateDirectory(Truths);
        Write(Path.Combine(Predictions, "a_pred.nii.gz"), new VoxelGrid(2, 2, 1), [1, 0, 0, 0]);
        Write(Path.Combine(Truths, "b_mask.nii.gz"), new VoxelGrid(2, 2, 1), [1, 0, 0, 0]);

        Should.Throw<GreenSegException>(() => Evaluator.EvaluateFolders(Path.Combine(_root, "nowhere"), Truths))
            .Message.ShouldContain("nowhere");
        var error = Should.Throw<GreenSegException>(() => Evaluator.EvaluateFolders(Predictions, Truths));
        error.Message.ShouldContain("a_pred.nii.gz");
        error.Message.ShouldContain("b_mask.nii.gz");
    }

    [Fact]
    public void CommandWritesCasesAndSummaryAndFlagsFailedCases()
    {
        WriteFixture();
        string output = Path.Combine(_root, "out");

        int exitCode = new CommandApp<EvaluateCommand>().Run(["--pred", Predictions, "--truth", Truths, "--out", output]);

        exitCode.ShouldBe(3);   // two cases have mismatched grids
        string[] lines = File.ReadAllLines(Path.Combine(output, EvaluationReportFiles.CasesFileName));
        lines.Length.ShouldBe(5);
        string[] header = lines[0].Split(',');
        header[..4].ShouldBe(["case", "prediction", "truth", "size_x"]);
        header.ShouldContain("hd95_mm");
        var stackRow = lines.Single(l => l.StartsWith("stack,")).Split(',');
        stackRow[Array.IndexOf(header, "hd95_mm")].ShouldBe("3");
        stackRow[Array.IndexOf(header, "spacing_z_mm")].ShouldBe("3");
        lines.Single(l => l.StartsWith("mismatch,")).Split(',')[Array.IndexOf(header, "dice")].ShouldBe("");

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, EvaluationReportFiles.SummaryFileName)));
        var json = summary.RootElement;
        json.GetProperty("evaluated_cases").GetInt32().ShouldBe(2);
        json.GetProperty("metrics").GetProperty("dice").GetProperty("mean").GetDouble().ShouldBe(0.75, 1e-12);
        json.GetProperty("metrics").GetProperty("hd95_mm").GetProperty("n").GetInt32().ShouldBe(2);
        json.GetProperty("failed")[0].GetProperty("case").GetString().ShouldBe("mismatch");
        json.GetProperty("unmatched_truths")[0].GetString().ShouldBe("lonely_mask.nii.gz");
        json.GetProperty("conventions").GetProperty("hd95").GetString()!.ShouldContain("pooled");
    }

    [Fact]
    public void CommandSucceedsWhenEveryCaseIsEvaluated()
    {
        Directory.CreateDirectory(Predictions);
        Directory.CreateDirectory(Truths);
        var grid = new VoxelGrid(3, 3, 1);
        Write(Path.Combine(Predictions, "a_pred.nii.gz"), grid, [0, 0, 0, 0, 1, 0, 0, 0, 0]);
        Write(Path.Combine(Truths, "a_mask.nii.gz"), grid, [0, 0, 0, 0, 0, 0, 0, 0, 0]);

        new CommandApp<EvaluateCommand>().Run(["--pred", Predictions, "--truth", Truths, "--out", Path.Combine(_root, "out")]).ShouldBe(0);
    }

    /// <summary>
    /// stack: 3×3×2 block shifted one slice (spacing 1×1×3 mm); slice: identical 2D masks; mismatch: shapes
    /// differ; spacing: identical voxels but the prediction's header says 5 mm slices; one orphan on each
    /// side; a non-NIfTI file.
    /// </summary>
    private void WriteFixture()
    {
        Directory.CreateDirectory(Predictions);
        Directory.CreateDirectory(Truths);
        var truthGrid = new VoxelGrid(5, 5, 6, 1, 1, 3);
        Write(Path.Combine(Truths, "stack_mask.nii.gz"), truthGrid, new MaskBuilder(truthGrid).Box(1, 3, 1, 3, 1, 2));
        Write(Path.Combine(Predictions, "stack_maskpred.nii.gz"), truthGrid, new MaskBuilder(truthGrid).Box(1, 3, 1, 3, 2, 3));
        var block = new MaskBuilder(truthGrid).Box(1, 3, 1, 3, 1, 2);
        Write(Path.Combine(Truths, "spacing_mask.nii.gz"), truthGrid, block);
        Write(Path.Combine(Predictions, "spacing_maskpred.nii.gz"), new VoxelGrid(5, 5, 6, 1, 1, 5), block);

        var sliceGrid = new VoxelGrid(4, 3, 1, 0.7, 0.7, 4);
        byte[] slice = new MaskBuilder(sliceGrid).Box(1, 2, 0, 1);
        Write(Path.Combine(Truths, "slice.nii"), sliceGrid, slice);
        Write(Path.Combine(Predictions, "slice_pred.nii.gz"), sliceGrid, slice);

        Write(Path.Combine(Truths, "mismatch_mask.nii.gz"), new VoxelGrid(4, 4, 3), new byte[48]);
        Write(Path.Combine(Predictions, "mismatch_maskpred.nii.gz"), new VoxelGrid(4, 4, 2), new byte[32]);

        Write(Path.Combine(Truths, "lonely_mask.nii.gz"), new VoxelGrid(2, 2, 1), new byte[4]);
        Write(Path.Combine(Predictions, "orphan_maskpred.nii.gz"), new VoxelGrid(2, 2, 1), new byte[4]);
        File.WriteAllText(Path.Combine(Predictions, "notes.txt"), "not an image");
    }

    private static void Write(string path, VoxelGrid grid, byte[] mask) =>
        NiftiImage.Create(grid.SizeX, grid.SizeY, grid.SizeZ, grid.SpacingX, grid.SpacingY, grid.SpacingZ,
            mask.Select(v => (float)v).ToArray(), NiftiDataType.UInt8).Write(path);
}
