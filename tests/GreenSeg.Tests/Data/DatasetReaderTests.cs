using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Imaging;

namespace GreenSeg.Tests.Data;

public sealed class DatasetReaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-dataset-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string WriteImage(string relative, int depth = 1, float value = 5)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var values = Enumerable.Repeat(value, 4 * 4 * depth).ToArray();
        NiftiImage.Create(4, 4, depth, 1, 1, 3, values, NiftiDataType.Int16).Write(path);
        return path;
    }

    [Fact]
    public void E2mipLayoutGroupsSlicesIntoStacksInSliceOrder()
    {
        foreach (int k in new[] { 2, 0, 1 })
        {
            WriteImage($"train_slice/images/T2W_vol0001_slice{k:00}.nii.gz");
            WriteImage($"train_slice/masks/T2W_vol0001_slice{k:00}_mask.nii.gz", value: 1);
        }
        WriteImage("train_slice/images/DWI_vol0002_slice00.nii.gz");
        WriteImage("train_slice/masks/DWI_vol0002_slice00_mask.nii.gz", value: 1);
        WriteImage("test_volume/images/FMRI_vol0003.nii.gz", depth: 5);

        var dataset = DatasetReader.Open(_root);

        dataset.Layout.ShouldBe(DatasetLayout.E2mip);
        dataset.TrainingStacks.Select(s => s.Id).ShouldBe(["DWI_vol0002", "T2W_vol0001"]);
        dataset.TrainingStacks[1].Sequence.ShouldBe("T2W");
        dataset.TrainingStacks[1].Slices.Select(s => Path.GetFileName(s.ImagePath))
            .ShouldBe(["T2W_vol0001_slice00.nii.gz", "T2W_vol0001_slice01.nii.gz", "T2W_vol0001_slice02.nii.gz"]);
        dataset.TrainingSliceCount.ShouldBe(4);
        dataset.TestVolumes.ShouldHaveSingleItem().Id.ShouldBe("FMRI_vol0003");
        dataset.TestVolumes[0].MaskPath.ShouldBeNull();
        dataset.Problems.ShouldBeEmpty();
    }

    [Fact]
    public void UnpairedFilesAreReportedByNameAndTheRestIsKept()
    {
        WriteImage("images/a_slice00.nii");
        WriteImage("masks/a_slice00_seg.nii", value: 1);
        string lonelyImage = WriteImage("images/b_slice00.nii");
        string lonelyMask = WriteImage("masks/c_slice00_mask.nii", value: 1);

        var dataset = DatasetReader.Open(_root);

        dataset.Layout.ShouldBe(DatasetLayout.Paired);
        dataset.TrainingStacks.ShouldHaveSingleItem().Id.ShouldBe("a");
        dataset.Problems.Select(p => p.Path).ShouldBe([lonelyImage, lonelyMask], ignoreOrder: true);
    }

    [Fact]
    public void ThreeDimensionalTrainingFilesBecomeStacksOfSlices()
    {
        WriteImage("images/case1.nii.gz", depth: 3);
        WriteImage("masks/case1.nii.gz", depth: 3, value: 1);

        var stack = DatasetReader.Open(_root).TrainingStacks.ShouldHaveSingleItem();
        stack.Slices.Select(s => s.Z).ShouldBe([0, 1, 2]);
    }

    [Fact]
    public void CsvListsPairsRelativeToItsFolderAndReportsMissingFiles()
    {
        WriteImage("x/img_slice00.nii");
        WriteImage("x/lbl_slice00.nii", value: 1);
        string csv = Path.Combine(_root, "pairs.csv");
        File.WriteAllText(csv, "image,mask\nx/img_slice00.nii,x/lbl_slice00.nii\nx/missing.nii,x/lbl_slice00.nii\n");

        var dataset = DatasetReader.Open(csv);

        dataset.Layout.ShouldBe(DatasetLayout.Csv);
        dataset.TrainingStacks.ShouldHaveSingleItem().Id.ShouldBe("img");
        dataset.Problems.ShouldHaveSingleItem().Problem.ShouldContain("line 3");
    }

    [Fact]
    public void UnknownFolderIsAClearError()
    {
        Should.Throw<InvalidInputException>(() => DatasetReader.Open(_root)).Problem.ShouldContain("no known layout");
        Should.Throw<InvalidInputException>(() => DatasetReader.Open(Path.Combine(_root, "nope"))).Problem.ShouldContain("not found");
    }

    [Fact]
    public void SplitIsByStackDeterministicAndSpreadsSequences()
    {
        var stacks = new List<TrainingStack>();
        foreach (string seq in new[] { "T2W", "DWI", "FMRI" })
            for (int i = 0; i < 4; i++)
                stacks.Add(new TrainingStack($"{seq}_vol{i:0000}", seq, [new SliceRef($"{seq}{i}", null, 0)]));

        var (train, validation) = StackSplit.Split(stacks, 0.25, seed: 7);
        var again = StackSplit.Split(stacks, 0.25, seed: 7);

        validation.Count.ShouldBe(3);
        validation.Select(s => s.Sequence).ShouldBe(["DWI", "FMRI", "T2W"], ignoreOrder: true);
        train.Select(s => s.Id).Intersect(validation.Select(s => s.Id)).ShouldBeEmpty();
        again.Validation.Select(s => s.Id).ShouldBe(validation.Select(s => s.Id));
        StackSplit.Split(stacks, 0.25, seed: 8).Validation.Select(s => s.Id).ShouldNotBe(validation.Select(s => s.Id));
    }

    [Fact]
    public void SplitHoldsOutAStackEvenWhenEverySequenceHasOnlyOne()
    {
        var stacks = new[] { "T2W", "DWI", "FMRI" }.Select(seq => new TrainingStack($"{seq}_vol0000", seq, [new SliceRef(seq, null, 0)])).ToList();
        var (train, validation) = StackSplit.Split(stacks, 0.34, seed: 1);
        validation.Count.ShouldBe(1);
        train.Count.ShouldBe(2);
    }
}
