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
        output.ShouldContain("mean Dice keeping components largest ");
        File.Exists(Path.Combine(_out, CrossValidationStore.FileName)).ShouldBeTrue();
        File.ReadAllText(Path.Combine(_out, "crossval-report.md")).ShouldContain("| T2W | 1 |");
        // The segmentation defaults reached the plan through their command-line spellings.
        File.ReadAllText(Path.Combine(_out, "crossval-report.md")).ShouldContain("(`--views stored --tta left-right --threshold 0.5`)");

        var (reportExit, report) = CliRunner.Run("report", _out);
        reportExit.ShouldBe(0, report);
        report.ShouldContain("crossval-report.md");

        // Its fold models scored again with other segmentation options, without training.
        string rescored = _out + "-three-planes";
        var (rescoreExit, rescoreOutput) = CliRunner.Run("crossval", "--models-from", _out, "--views", "three-planes", "--tta", "left-right", "--out", rescored);
        rescoreExit.ShouldBe(0, rescoreOutput);
        rescoreOutput.ShouldContain($"models from {Path.GetFullPath(_out)}");
        rescoreOutput.ShouldContain("mean Dice over 3 stacks");
        rescoreOutput.ShouldNotContain("epoch 0");
        rescoreOutput.ShouldContain("scoring DWI's model");
        // The two compared stack by stack: the same fold models, so the same folds and the same recipe.
        string comparison = _out + "-comparison";
        var (compareExit, compared) = CliRunner.Run("report", _out, rescored, "--out", comparison);
        compareExit.ShouldBe(0, compared);
        compared.ShouldContain("cv (reference)");
        compared.ShouldContain("cv-three-planes");
        File.ReadAllText(Path.Combine(comparison, "crossval-comparison.md")).ShouldContain("| cv-three-planes | 3 | yes |");
        var (notCrossvalExit, notCrossval) = CliRunner.Run("report", _out, comparison);
        notCrossvalExit.ShouldNotBe(0);
        notCrossval.ShouldContain("not a cross-validation folder");
        // Post-processing is part of the plan: resuming with other components is another cross-validation.
        var (otherExit, other) = CliRunner.Run("crossval", "--models-from", _out, "--views", "three-planes", "--tta", "left-right", "--components", "largest", "--out", rescored);
        otherExit.ShouldNotBe(0);
        System.Text.RegularExpressions.Regex.Replace(other, @"\s+", " ").ShouldContain("whose held-out stacks were segmented otherwise (stored: --views three-planes --tta left-right --threshold 0.5; asked: --views three-planes --tta left-right --threshold 0.5 --components largest)");
        // The threshold reaches the scoring: above every probability, no stack has a brain.
        var (emptyExit, empty) = CliRunner.Run("crossval", "--models-from", _out, "--threshold", "1", "--components", "all", "--out", _out + "-empty");
        emptyExit.ShouldBe(0, empty);
        System.Text.RegularExpressions.Regex.Matches(empty, @"Dice 0\.000, HD95 - mm, 0\.0 ml predicted").Count.ShouldBe(3, empty);
        // Stacks are paired as each cross-validation post-processed them (here: large against all), unless one selection is asked for.
        var (mixedExit, mixed) = CliRunner.Run("report", _out, _out + "-empty");
        mixedExit.ShouldBe(0, mixed);
        mixed.ShouldContain("--components largest|large|all pairs them after one selection");
        var (oneExit, one) = CliRunner.Run("report", _out, _out + "-empty", "--components", "all");
        oneExit.ShouldBe(0, one);
        one.ShouldContain("every stack scored after --components all, whatever its recipe keeps");
        one.ShouldNotContain("pairs them after one selection");
        // Training options would be another recipe than the models were trained with.
        var (refusedExit, refused) = CliRunner.Run("crossval", "--models-from", _out, "--epochs", "3", "--out", _out + "-refused");
        refusedExit.ShouldNotBe(0);
        refused.ShouldContain("give no --data, no --folds and no training options");
        Directory.Exists(_out + "-refused").ShouldBeFalse();
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
