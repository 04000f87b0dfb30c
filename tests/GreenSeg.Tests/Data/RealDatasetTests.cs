using GreenSeg.Data;

namespace GreenSeg.Tests.Data;

public class RealDatasetTests
{
    [RealDataFact]
    public void InspectReportsTheSharedDataExactly()
    {
        var report = DatasetInspector.Inspect(DatasetReader.Open(RealData.E2mipFetalOrThrow));

        report.Stacks.Count.ShouldBe(13);
        report.SlicesWithMasks.ShouldBe(407);
        report.TestVolumes.Count.ShouldBe(6);
        report.Problems.ShouldBeEmpty();
        report.Sequences.Select(s => s.Sequence).ShouldBe(["DWI", "FMRI", "T2W"]);
        report.Stacks.Single(s => s.Id == "T2W_vol0002").Shapes.ShouldBe("256x256x1");
        report.TestVolumes.Single(v => v.Id == "T2W_vol0009").Shape.ShouldBe("256x256x46");
        report.TestVolumes.Single(v => v.Id == "DWI_vol0008").Spacing.ShouldBe("2.344x2.344x3 mm");
        // Every slice's brain is small (the data README: at most 8.8% of a slice).
        report.Stacks.Max(s => s.MaxCoverage).ShouldBeInRange(0.05, 0.09);
    }

    [RealDataFact]
    public void ADamagedFileInACopyIsReportedByNameAndTheRestIsStillListed()
    {
        string copy = Directory.CreateTempSubdirectory("greenseg-damaged-").FullName;
        try
        {
            CopyFolder(RealData.E2mipFetalOrThrow, copy);
            string damaged = Path.Combine(copy, "train_slice", "images", "T2W_vol0001_slice05.nii.gz");
            var bytes = File.ReadAllBytes(damaged);
            File.WriteAllBytes(damaged, bytes[..(bytes.Length / 2)]);

            var report = DatasetInspector.Inspect(DatasetReader.Open(copy));

            var problem = report.Problems.ShouldHaveSingleItem();
            problem.Path.ShouldBe(damaged);
            problem.Problem.ShouldContain("truncated");
            report.Stacks.Count.ShouldBe(13);
            report.SlicesWithMasks.ShouldBe(406);
            report.TestVolumes.Count.ShouldBe(6);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (string dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(dir.Replace(from, to));
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to));
    }
}
