using System.Globalization;
using GreenSeg.Inference;
using Spectre.Console;

namespace GreenSeg.Cli;

/// <summary>How segmentation batches are shown: a progress bar or a line per stack, then a table of time and energy.</summary>
internal static class SegmentationConsole
{
    /// <summary>Runs a batch (given the per-stack callback to pass on) with a progress bar on a terminal, else a line per stack.</summary>
    public static BatchSegmentationResult RunWithProgress(int stacks, Func<Action<StackOutcome>, BatchSegmentationResult> run)
    {
        if (!Terminal.IsInteractive) return run(outcome => Console.WriteLine(Describe(outcome)));
        return AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(progress =>
            {
                var task = progress.AddTask($"segmenting {stacks} stack(s)", maxValue: stacks);
                return run(_ => task.Increment(1));
            });
    }

    private static string EngineName(InferenceEngine engine) => engine == InferenceEngine.Onnx ? "ONNX Runtime" : "TorchSharp";

    public static void Print(BatchSegmentationResult result)
    {
        ConsoleTable.Line(Invariant($"{(result.EnsembleSize > 1 ? $"ensemble of {result.EnsembleSize} fold models, the first " : "model ")}{result.Model.Model} ({result.Model.Size}x{result.Model.Size} at {result.Model.Spacing} mm, epoch {result.Model.Epoch}) on {EngineName(result.Engine)}, loaded in {result.ModelLoad.TotalSeconds:0.00} s, {result.ModelLoadEnergy.TotalJoules:0.0} J {result.ModelLoadEnergy.OriginLabel} (not counted below)"));
        var rows = result.Stacks.Select(s => (IReadOnlyList<string>)
        [
            s.Job.Name, s.Succeeded ? s.Slices.ToString(CultureInfo.InvariantCulture) : "-", Invariant($"{s.Elapsed.TotalSeconds:0.000}"),
            Invariant($"{s.Energy.TotalJoules:0.0}"), s.Energy.OriginLabel, s.Succeeded ? Path.GetFileName(s.Job.MaskPath) : "FAILED",
        ]).ToList();
        rows.Add(["all stacks", result.Slices.ToString(CultureInfo.InvariantCulture), Invariant($"{result.Total.Duration.TotalSeconds:0.000}"),
            Invariant($"{result.Total.TotalJoules:0.0}"), result.Total.OriginLabel, ""]);
        ConsoleTable.Write(["stack", "slices", "seconds", "energy J", "energy", "output"], rows, 1, 2, 3);
        PrintFailures(result.Failures);
        ConsoleTable.Line($"wrote {result.Stacks.Count(s => s.Succeeded)} mask(s) to {Path.GetFullPath(result.Plan.Output.Folder)}; times and energy in {result.ReportPath}");
        if (!result.AllSucceeded)
            AnsiConsole.MarkupLineInterpolated($"[red]{result.Failures.Count} input(s) failed[/]");
    }

    public static void PrintFailures(IEnumerable<InputProblem> problems)
    {
        foreach (var problem in problems)
            AnsiConsole.MarkupLineInterpolated($"[red]failed[/] {problem.Path}: {problem.Problem}");
    }

    private static string Describe(StackOutcome outcome) => outcome.Succeeded
        ? Invariant($"{outcome.Job.Name}: {outcome.Slices} slices in {outcome.Elapsed.TotalSeconds:0.000} s, {outcome.Energy.TotalJoules:0.0} J {outcome.Energy.OriginLabel} -> {Path.GetFileName(outcome.Job.MaskPath)}")
        : $"{outcome.Job.Name}: FAILED ({outcome.Error})";

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
