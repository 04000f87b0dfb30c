using System.ComponentModel;
using System.Globalization;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

/// <summary>Options of <c>greenseg e2mip</c>: the two contract folders, where results go, and the training recipe.</summary>
public sealed class E2mipSettings : TrainingRecipeSettings
{
    [CommandArgument(0, "<TRAIN_DIR>")]
    [Description("Training slices: a folder with images/ and masks/ (E2MIP's train_slice).")]
    public string TrainFolder { get; init; } = "";

    [CommandArgument(1, "<TEST_DIR>")]
    [Description("Test stacks: NIfTI files directly inside, or in its images/ folder (E2MIP's test_volume).")]
    public string TestFolder { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("Results: run/, test_volume_prediction/<name>_maskpred.nii.gz, inference.csv, e2mip-summary.json (default runs/e2mip-<time>).")]
    public string? Out { get; init; }

    [CommandOption("--truth <DIR>")]
    [Description("Reference masks of the test stacks (matched by name): Dice per stack and Dice per kJ.")]
    public string? Truth { get; init; }

    [CommandOption("--no-preview")]
    [Description("Skip review.html and the mosaics (by default every test stack gets one, with its flags).")]
    public bool NoPreview { get; init; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(TrainFolder)) return ValidationResult.Error("TRAIN_DIR is required");
        if (string.IsNullOrWhiteSpace(TestFolder)) return ValidationResult.Error("TEST_DIR is required");
        return base.Validate();
    }
}

/// <summary>`greenseg e2mip`: train on the slices, predict every test stack, report energy and (with --truth) Dice.</summary>
public sealed class E2mipCommand : Command<E2mipSettings>
{
    public override int Execute(CommandContext context, E2mipSettings settings, CancellationToken cancellationToken)
    {
        var result = E2mipConsole.Run(new E2mipOptions
        {
            TrainFolder = settings.TrainFolder,
            TestFolder = settings.TestFolder,
            OutputFolder = settings.Out ?? Path.Combine("runs", $"e2mip-{DateTime.Now:yyyyMMdd-HHmmss}"),
            TruthFolder = settings.Truth,
            Training = settings.Resolve(),
            Review = !settings.NoPreview,
        }, cancellationToken);
        return E2mipConsole.ExitCode(result);
    }
}

/// <summary>Runs the e2mip stages with progress on screen and prints the summary (shared by e2mip and demo).</summary>
internal static class E2mipConsole
{
    public static E2mipResult Run(E2mipOptions options, CancellationToken cancellationToken)
    {
        var plan = E2mipPipeline.Plan(options);
        ConsoleTable.Line($"e2mip: training {plan.Training.Model} on {plan.TrainingStacks} stacks ({plan.TrainingSlices} slices) from {plan.Training.Data}; " +
            $"{plan.Prediction.Jobs.Count} test stack(s) from {Path.GetFullPath(options.TestFolder)}; results in {plan.OutputFolder}");
        foreach (var problem in plan.DatasetProblems)
            AnsiConsole.MarkupLineInterpolated($"[yellow]dataset:[/] {problem.Path}: {problem.Problem}");

        var training = ProgressObserver.Run(observer => E2mipPipeline.Train(plan, observer, cancellationToken));
        TrainCommand.Print(training);
        var prediction = SegmentationConsole.RunWithProgress(plan.Prediction.Jobs.Count,
            onStack => E2mipPipeline.Predict(plan, onStack, cancellationToken));
        SegmentationConsole.Print(prediction);
        var evaluation = E2mipPipeline.Evaluate(plan, cancellationToken);
        var review = E2mipPipeline.WriteReview(plan, prediction, evaluation);
        var result = E2mipPipeline.Summarize(plan, training, prediction, evaluation, review);
        PrintSummary(result);
        return result;
    }

    public static int ExitCode(E2mipResult result) =>
        result.Prediction.AllSucceeded && (result.Evaluation is null || result.Evaluation.Failed.Count == 0) ? 0 : CliErrors.InputError;

    private static void PrintSummary(E2mipResult result)
    {
        if (result.Evaluation is { } evaluation)
        {
            ConsoleTable.Write(["stack", "Dice", "HD95 mm", "prediction"],
                evaluation.Cases.Select(c => (IReadOnlyList<string>)
                [
                    c.Name, c.Succeeded ? Number(c.Metrics!.Dice, "0.0000") : "failed",
                    c.Metrics?.Hd95Mm is double hd ? Number(hd, "0.00") : "-", Path.GetFileName(c.Files.PredictionPath),
                ]), 1, 2);
            foreach (string file in evaluation.UnmatchedPredictions) ConsoleTable.Line($"no truth for prediction {file}");
            foreach (string file in evaluation.UnmatchedTruths) ConsoleTable.Line($"no prediction for truth {file}");
        }
        string Energy(double kj, bool estimated) => $"{Number(kj, "0.000")} kJ ({(estimated ? "estimated" : "measured")})";
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "training", Seconds(result.Training.Duration), Energy(result.Training.TotalEnergyKj, result.Training.EnergyEstimated) },
            new[] { "inference", Seconds(result.InferenceTime), Energy(result.InferenceJoules / 1000, result.InferenceEstimated) },
            new[] { "total", Seconds(result.TotalTime), Energy(result.TotalKilojoules, result.TotalEstimated) },
        };
        ConsoleTable.Write(["stage", "time", "energy"], rows, 1, 2);
        if (result.MeanDice is double dice)
            ConsoleTable.Line($"mean test Dice {Number(dice, "0.0000")} over {result.Evaluation!.Summary.Cases} stack(s); " +
                $"Dice per kJ {Number(result.DicePerKj ?? 0, "0.0000")} (mean Dice / total kJ)");
        ConsoleTable.Line($"predictions in {result.Plan.PredictionFolder}; summary in {result.Plan.SummaryPath}");
        if (result.Review is { } review) ReviewConsole.Print(review);
    }

    private static string Seconds(TimeSpan time) => Number(time.TotalSeconds, "0.0") + " s";

    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
