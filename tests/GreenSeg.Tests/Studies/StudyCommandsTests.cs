using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Tests.Cli;

namespace GreenSeg.Tests.Studies;

[Collection(nameof(ConsoleCollection))]
public sealed class StudyCommandsTests(TinyPhantomFixture fixture) : IClassFixture<TinyPhantomFixture>
{
    [Fact]
    public void A_dry_run_lists_the_runs_with_the_command_line_budget()
    {
        var (exitCode, output) = CliRunner.Run("study", "techniques", "--data", fixture.Data, "--dry-run", "--epochs", "5", "--size", "64",
            "--set", "model-width=8", "--out", Path.Combine(fixture.Root, "dry"));
        exitCode.ShouldBe(0, output);
        output.ShouldContain("9 runs");
        output.ShouldContain("baseline (baseline)");
        output.ShouldContain("+light-architecture");
        output.ShouldContain("novograd");
        Directory.Exists(Path.Combine(fixture.Root, "dry")).ShouldBeFalse("a dry run writes nothing");
    }

    [Fact]
    public void Study_then_report_from_the_command_line()
    {
        string studyFile = Path.Combine(fixture.Root, "cli.yaml");
        File.WriteAllText(studyFile, """
            split: { seed: 1, validation-fraction: 0.34 }
            set: { spacing: 8, model-width: 4, threads: 2 }
            runs:
              - name: baseline
              - name: +cache
                set: { cache: memory }
            """);
        string folder = Path.Combine(fixture.Root, "cli-study");
        var (exitCode, output) = CliRunner.Run("study", studyFile, "--data", fixture.Data, "--out", folder, "--epochs", "1", "--size", "32");
        exitCode.ShouldBe(0, output);
        output.ShouldContain("[1/2] starting baseline");
        output.ShouldContain("[2/2] +cache: finished");
        File.Exists(Path.Combine(folder, StudyStore.FileName)).ShouldBeTrue();
        File.Exists(Path.Combine(folder, "report.html")).ShouldBeTrue("a finished study writes its report");
        File.Exists(Path.Combine(folder, "runs", "baseline", "metrics.csv")).ShouldBeTrue();

        (exitCode, output) = CliRunner.Run("study", studyFile, "--data", fixture.Data, "--out", folder, "--epochs", "1", "--size", "32");
        exitCode.ShouldBe(0, output);
        output.ShouldContain("baseline: already finished, skipped");

        string reportFolder = Path.Combine(fixture.Root, "cli-report");
        (exitCode, output) = CliRunner.Run("report", Path.Combine(folder, StudyStore.FileName), "--out", reportFolder);
        exitCode.ShouldBe(0, output);
        output.ShouldContain("2 runs");
        File.ReadAllText(Path.Combine(reportFolder, "report.md")).ShouldContain("| +cache | cache: memory |");
    }

    [Fact]
    public void Mistakes_get_one_clear_line()
    {
        var (exitCode, output) = CliRunner.Run("study", "technique", "--data", fixture.Data, "--dry-run");
        exitCode.ShouldBe(3);
        output.ShouldContain("presets: architectures, compression, quick, techniques");

        (exitCode, output) = CliRunner.Run("study", "quick", "--data", fixture.Data, "--dry-run", "--set", "with=3");
        exitCode.ShouldBe(3);
        output.ShouldContain("unknown training option 'with'");

        (exitCode, output) = CliRunner.Run("report", fixture.Root);
        exitCode.ShouldBe(3);
        output.ShouldContain("no study database here");

        (exitCode, output) = CliRunner.Run("bench", "recipes", "--only", "recipes,speed");
        exitCode.ShouldNotBe(0);
        output.ShouldContain("unknown section(s) speed");
    }
}
