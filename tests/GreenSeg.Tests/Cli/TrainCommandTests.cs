using GreenSeg.Tests.Training;

namespace GreenSeg.Tests.Cli;

[Collection(nameof(SerialTorch))]
public sealed class TrainCommandTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-train-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void AFinalRunsSummarySaysNothingWasHeldOutInsteadOfAValidationDice()
    {
        var (exitCode, output) = CliRunner.Run("train", "--data", phantom.Root, "--final", "--model", "micronet", "--size", "32",
            "--spacing", "8", "--epochs", "1", "--threads", "2", "--out", Path.Combine(_folder, "final"));

        exitCode.ShouldBe(0, output);
        output.ShouldContain("none held out");
        output.ShouldNotContain("NaN");
    }
}
