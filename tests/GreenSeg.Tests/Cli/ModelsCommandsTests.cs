namespace GreenSeg.Tests.Cli;

[Collection(nameof(ConsoleCollection))]
public class ModelsCommandsTests
{
    [Fact]
    public void ListShowsEveryModelWithItsSizeAndCost()
    {
        var (exitCode, output) = CliRunner.Run("models", "list", "--size", "32");
        exitCode.ShouldBe(0);
        foreach (var name in GreenSeg.Models.ModelRegistry.Names) output.ShouldContain(name);
        output.ShouldContain("31.036 M");
        output.ShouldContain("Pennisi et al.");
    }

    [Fact]
    public void ShowPrintsTheLayerTableAndTotals()
    {
        var (exitCode, output) = CliRunner.Run("models", "show", "micronet", "--size", "64");
        exitCode.ShouldBe(0);
        output.ShouldContain("upFuse.3.expand3x3");
        output.ShouldContain("ComputeConv2d");
        output.ShouldContain("165,017 parameters");
    }

    [Fact]
    public void ShowTakesTheWidthAsTrainingNamesIt()
    {
        // The plain U-Net recipe's network: twice the default's width, four times its parameters.
        var (exitCode, output) = CliRunner.Run("models", "show", "unet", "--model-width", "32", "--size", "128");
        exitCode.ShouldBe(0, output);
        output.ShouldContain("width 32, total stride 16: 7,762,465 parameters");
    }

    [Fact]
    public void AnUnknownOptionIsAnErrorNotIgnored()
    {
        var (exitCode, output) = CliRunner.Run("models", "list", "--sise", "32");
        exitCode.ShouldNotBe(0);
        output.ShouldContain("Unknown option 'sise'");
    }

    [Fact]
    public void ShowRefusesUnknownModelsAndBadSizes()
    {
        var (exitCode, output) = CliRunner.Run("models", "show", "resnet");
        exitCode.ShouldBe(3);
        output.ShouldContain("valid models: unet");
        (exitCode, output) = CliRunner.Run("models", "show", "enet", "--size", "100");
        exitCode.ShouldBe(3);
        output.ShouldContain("divisible by 8");
    }

    [Fact]
    public void BenchPrintsBothComputeModesSideBySide()
    {
        var (exitCode, output) = CliRunner.Run("bench", "models", "--models", "micronet", "--batch", "1", "--steps", "1",
            "--warmup", "0", "--size", "32");
        exitCode.ShouldBe(0);
        output.ShouldContain("fp32/NCHW ms/slice");
        output.ShouldContain("bf16-compute/channels-last ms/slice");
        output.ShouldContain("micronet");
    }
}
