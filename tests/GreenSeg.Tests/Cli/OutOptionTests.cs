namespace GreenSeg.Tests.Cli;

/// <summary>Every command that writes results takes --out; train keeps --output as the same option.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class OutOptionTests
{
    [Theory]
    [InlineData("--out")]
    [InlineData("--output")]
    [InlineData("-o")]
    public void TrainTakesOutAndItsOlderSpelling(string flag)
    {
        string missing = Path.Combine(Path.GetTempPath(), $"greenseg-no-data-{Guid.NewGuid():N}");
        var (exitCode, output) = CliRunner.Run("train", "--data", missing, flag, Path.Combine(missing, "run"));
        exitCode.ShouldNotBe(0);
        output.ShouldNotContain("Unknown option");
        output.ShouldContain(missing);
        Directory.Exists(missing).ShouldBeFalse();
    }
}
