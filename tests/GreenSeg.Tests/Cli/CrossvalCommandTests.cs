using GreenSeg.CrossValidation;
using GreenSeg.Tests.Training;

namespace GreenSeg.Tests.Cli;

[Collection(nameof(SerialTorch))]
public sealed class CrossvalCommandTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _out = Path.Combine(Directory.CreateTempSubdirectory("greenseg-crossval-cli-").FullName, "cv");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_out)!, recursive: true);

    [Fact]
    public void CrossvalScoresEveryStackAndReportReadsItBack()
    {
        var (exitCode, output) = CliRunner.Run("crossval", "--data", phantom.Root, "--folds", "sequence", "--out", _out,
            "--model", "micronet", "--size", "32", "--spacing", "8", "--epochs", "1", "--threads", "2");

        exitCode.ShouldBe(0, output);
        output.ShouldContain("3 folds over 3 stacks");
        output.ShouldContain("mean Dice over 3 stacks");
        File.Exists(Path.Combine(_out, CrossValidationStore.FileName)).ShouldBeTrue();
        File.ReadAllText(Path.Combine(_out, "crossval-report.md")).ShouldContain("| T2W | 1 |");

        var (reportExit, report) = CliRunner.Run("report", _out);
        reportExit.ShouldBe(0, report);
        report.ShouldContain("crossval-report.md");
    }

    [Fact]
    public void ABadFoldsValueIsAClearError()
    {
        var (exitCode, output) = CliRunner.Run("crossval", "--data", phantom.Root, "--folds", "one", "--out", _out);

        exitCode.ShouldNotBe(0);
        output.ShouldContain("folds 'one'");
        Directory.Exists(_out).ShouldBeFalse();
    }
}
