using GreenSeg.Data;
using GreenSeg.Imaging;

namespace GreenSeg.Tests.Cli;

/// <summary>File names a user can produce by accident or on purpose never become stack traces.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class HostileNamesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-names-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void WritePair(string stem)
    {
        Directory.CreateDirectory(Path.Combine(_root, "images"));
        Directory.CreateDirectory(Path.Combine(_root, "masks"));
        NiftiImage.Create(4, 4, 1, 1, 1, 3, new float[16], NiftiDataType.Int16).Write(Path.Combine(_root, "images", stem + ".nii.gz"));
        NiftiImage.Create(4, 4, 1, 1, 1, 3, new float[16], NiftiDataType.UInt8).Write(Path.Combine(_root, "masks", stem + "_mask.nii.gz"));
    }

    [Fact]
    public void Brackets_huge_slice_numbers_and_other_scripts_digits_are_plain_names()
    {
        WritePair("T2W_[vol]_slice01");
        WritePair("DWI_vol0001_slice99999999999");
        WritePair("FMRI_vol0002_slice\u0663");

        var (exitCode, output) = CliRunner.Run("data", "inspect", _root);

        exitCode.ShouldBe(0, output);
        output.ShouldContain("T2W_[vol]");
        output.ShouldNotContain("Unhandled");
    }

    [Theory]
    [InlineData("T2W_vol0001_slice07", "T2W_vol0001", 7)]
    [InlineData("DWI_vol0001_slice99999999999", "DWI_vol0001_slice99999999999", null)]
    [InlineData("FMRI_vol0002_slice\u0663", "FMRI_vol0002_slice\u0663", null)]
    public void Only_ascii_slice_numbers_that_fit_make_a_slice(string stem, string stack, int? index) =>
        StackNaming.Parse(stem).ShouldBe((stack, index));
}

/// <summary>Outputs the machine refuses (a device, a file where a folder belongs) are one clear line, not an internal error.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class RefusedOutputTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-refused-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_file_or_device_given_as_the_output_folder_is_a_clear_error()
    {
        string file = Path.Combine(_root, "hostname");
        File.WriteAllText(file, "mine");
        Directory.CreateDirectory(Path.Combine(_root, "pred"));
        Directory.CreateDirectory(Path.Combine(_root, "truth"));
        GreenSeg.Imaging.NiftiImage.Create(2, 2, 1, 1, 1, 1, new float[4], GreenSeg.Imaging.NiftiDataType.UInt8).Write(Path.Combine(_root, "pred", "a_maskpred.nii.gz"));
        GreenSeg.Imaging.NiftiImage.Create(2, 2, 1, 1, 1, 1, new float[4], GreenSeg.Imaging.NiftiDataType.UInt8).Write(Path.Combine(_root, "truth", "a_mask.nii.gz"));

        foreach (string output in new[] { file, "/dev/null" })
        {
            var (exitCode, text) = CliRunner.Run("evaluate", "--pred", Path.Combine(_root, "pred"), "--truth", Path.Combine(_root, "truth"), "--out", output);
            text.ShouldNotContain("internal error");
            text.ShouldContain("error:");
            exitCode.ShouldBeOneOf(GreenSeg.Cli.CliErrors.InputError, GreenSeg.Cli.CliErrors.IoError);
        }
        File.ReadAllText(file).ShouldBe("mine");
    }
}
