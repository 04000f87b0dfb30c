using GreenSeg.Common;
using GreenSeg.Inference;

namespace GreenSeg.Tests.Inference;

/// <summary>Input expansion and output naming: no model needed, files are only named, never read.</summary>
public sealed class BatchSegmentationPlanTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-plan-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Touch(string relative)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "x");
        return path;
    }

    private string Out => Path.Combine(_root, "out");

    [Fact]
    public void FoldersGiveTheirOwnNiftiFilesAndGlobsMatchShellStyle()
    {
        string a = Touch("scans/a.nii.gz"), b = Touch("scans/b.nii");
        Touch("scans/notes.txt");
        Touch("scans/.hidden.nii.gz");
        string deep = Touch("scans/sub/c.nii.gz");
        string other = Touch("other/d1.nii.gz");
        Touch("other/dx.nii.gz");

        InputFiles.Expand([Path.Combine(_root, "scans")]).Files.ShouldBe([Path.Combine(_root, "scans/.hidden.nii.gz"), a, b]);
        InputFiles.Expand([Path.Combine(_root, "scans/*.nii*")]).Files.ShouldBe([a, b]);
        InputFiles.Expand([Path.Combine(_root, "scans/**/*.nii.gz")]).Files.ShouldBe([a, deep]);
        InputFiles.Expand([Path.Combine(_root, "*/d[0-9].nii.gz")]).Files.ShouldBe([other]);
        InputFiles.Expand([Path.Combine(_root, "other/d?.nii.gz"), Path.Combine(_root, "other/d1.nii.gz")]).Files.Count.ShouldBe(2);
    }

    [Fact]
    public void InputsThatNameNoNiftiFileAreProblemsNotErrors()
    {
        string good = Touch("a.nii.gz");
        string text = Touch("notes.txt");
        Directory.CreateDirectory(Path.Combine(_root, "empty"));

        var expanded = InputFiles.Expand([good, text, Path.Combine(_root, "missing.nii.gz"), Path.Combine(_root, "empty"), Path.Combine(_root, "*.nii.gz.none"), "[", ""]);

        expanded.Files.ShouldBe([good]);
        expanded.Problems.Select(p => p.Problem).ShouldBe(
        [
            "not a NIfTI file (expected .nii or .nii.gz)", "not found", "folder holds no .nii or .nii.gz files (subfolders are not searched)",
            "pattern matches no .nii or .nii.gz file", "pattern matches no .nii or .nii.gz file", "empty input name",
        ]);
    }

    [Fact]
    public void AFolderWhoseStacksSitOneFolderDownNamesThatSubfolder()
    {
        // As an E2MIP folder's test_volume/, whose stacks are in images/.
        Touch("test_volume/images/DWI_vol0008.nii.gz");
        Touch("test_volume/images/T2W_vol0005.nii.gz");
        Touch("test_volume/notes/readme.txt");
        string folder = Path.Combine(_root, "test_volume");

        var expanded = InputFiles.Expand([folder]);

        expanded.Files.ShouldBeEmpty();
        expanded.Problems.Single().Problem.ShouldBe(
            $"folder holds no .nii or .nii.gz files, but its subfolders do: images/ (2); give one of them, or the glob '{Path.Combine(folder, "**", "*.nii.gz")}'");
        InputFiles.Expand([Path.Combine(folder, "images")]).Files.Count.ShouldBe(2);
    }

    [Fact]
    public void OutputsAreStemPlusSuffixInsideTheOutputFolder()
    {
        string stack = Touch("in/T2W_vol0005.nii.gz"), slice = Touch("in/case_slice03.nii");

        var plan = BatchSegmentation.Plan([stack, slice], new SegmentationOutput { Folder = Out, Suffix = "_seg", Probabilities = true });

        plan.Problems.ShouldBeEmpty();
        plan.Jobs.Select(j => (j.Name, j.MaskPath, j.ProbabilityPath)).ShouldBe(
        [
            ("T2W_vol0005", Path.Combine(Out, "T2W_vol0005_seg.nii.gz"), Path.Combine(Out, "T2W_vol0005_prob.nii.gz")),
            ("case_slice03", Path.Combine(Out, "case_slice03_seg.nii.gz"), Path.Combine(Out, "case_slice03_prob.nii.gz")),
        ]);
        BatchSegmentation.Plan([stack], new SegmentationOutput { Folder = Out }).Jobs[0].MaskPath.ShouldBe(Path.Combine(Out, "T2W_vol0005_mask.nii.gz"));
    }

    [Theory]
    [InlineData("/../escape")]
    [InlineData("_a/b")]
    [InlineData("..\\up")]
    public void ASuffixCannotLeadOutOfTheOutputFolder(string suffix)
    {
        string stack = Touch("in/a.nii.gz");
        Should.Throw<GreenSegException>(() => BatchSegmentation.Plan([stack], new SegmentationOutput { Folder = Out, Suffix = suffix }))
            .Message.ShouldContain("part of a file name");
    }

    [Fact]
    public void TheMaskSuffixCannotBeTheProbabilitySuffix() =>
        Should.Throw<GreenSegException>(() => BatchSegmentation.Plan([Touch("a.nii")],
            new SegmentationOutput { Folder = Out, Suffix = SegmentationOutput.ProbabilitySuffix, Probabilities = true }));

    [Fact]
    public void TwoInputsWithOneOutputNameLeaveTheSecondAsAProblem()
    {
        string first = Touch("x/case.nii.gz"), second = Touch("y/case.nii");

        var plan = BatchSegmentation.Plan([first, second], new SegmentationOutput { Folder = Out });

        plan.Jobs.ShouldHaveSingleItem().InputPath.ShouldBe(first);
        var problem = plan.Problems.ShouldHaveSingleItem();
        problem.Path.ShouldBe(second);
        problem.Problem.ShouldContain("case_mask.nii.gz");
        problem.Problem.ShouldContain(first);
    }

    [Fact]
    public void RefusesAnOutputThatWouldOverwriteAnInput()
    {
        string folder = Path.Combine(_root, "scans");
        string image = Touch("scans/a.nii.gz");
        Touch("scans/a_mask.nii.gz");   // an earlier run's output, now also an input

        var error = Should.Throw<GreenSegException>(() => BatchSegmentation.Plan([folder], new SegmentationOutput { Folder = folder }));
        error.Message.ShouldContain("refusing to overwrite");
        error.Message.ShouldContain("a_mask.nii.gz");
        Should.Throw<GreenSegException>(() => BatchSegmentation.Plan([image], new SegmentationOutput { Folder = folder, Suffix = "" }))
            .Message.ShouldContain(image);
        // A different suffix or folder is fine.
        BatchSegmentation.Plan([image], new SegmentationOutput { Folder = folder, Suffix = "_brain" }).Jobs.Count.ShouldBe(1);
    }

    [Fact]
    public void RefusesAnOutputThatIsALinkToAnInput()
    {
        string image = Touch("scans/a.nii.gz");
        Directory.CreateDirectory(Out);
        File.CreateSymbolicLink(Path.Combine(Out, "a_mask.nii.gz"), image);

        Should.Throw<GreenSegException>(() => BatchSegmentation.Plan([image], new SegmentationOutput { Folder = Out }))
            .Message.ShouldContain("refusing to overwrite");
    }

    [Fact]
    public void An_existing_mask_in_the_output_folder_is_never_overwritten_without_overwrite()
    {
        // The dataset's own reference masks are named <stem>_mask.nii.gz, as segment's outputs are.
        string image = Touch("data/a.nii.gz");
        string reference = Touch("out/a_mask.nii.gz");

        var plan = BatchSegmentation.Plan([image], new SegmentationOutput { Folder = Out });

        plan.Jobs.ShouldBeEmpty();
        plan.Problems.Single().Problem.ShouldContain(reference);
        plan.Problems.Single().Problem.ShouldContain("--overwrite");
        File.ReadAllText(reference).ShouldBe("x");
        BatchSegmentation.Plan([image], new SegmentationOutput { Folder = Out, Overwrite = true }).Jobs.Single().MaskPath.ShouldBe(reference);
    }
}
