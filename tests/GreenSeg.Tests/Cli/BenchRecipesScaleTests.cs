namespace GreenSeg.Tests.Cli;

[Collection(nameof(ConsoleCollection))]
public class BenchRecipesScaleTests
{
    [Fact]
    public void Techniques_options_are_refused_with_the_study_scale()
    {
        var (exitCode, output) = CliRunner.Run("bench", "recipes", "--scale", "study", "--only", "recipes", "--batches", "2");
        exitCode.ShouldNotBe(0);
        output.ShouldContain("--batches, --only: not used by --scale study");
    }

    [Fact]
    public void Slices_are_refused_with_the_techniques_scale()
    {
        var (exitCode, output) = CliRunner.Run("bench", "recipes", "--slices", "10");
        exitCode.ShouldNotBe(0);
        output.ShouldContain("--slices: only for --scale study");
    }

    [Fact]
    public void An_unknown_scale_names_the_choices()
    {
        var (exitCode, output) = CliRunner.Run("bench", "recipes", "--scale", "huge");
        exitCode.ShouldNotBe(0);
        output.ShouldContain("techniques, study");
    }
}
