using System.ComponentModel;
using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Phantom;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class DataPhantomSettings : CommandSettings
{
    [CommandArgument(0, "<OUT>")]
    [Description("Folder to write the E2MIP layout into (train_slice/, test_volume/ with ground-truth masks).")]
    public string Output { get; init; } = "";

    [CommandOption("--stacks <N>")]
    [Description("Training stacks, spread over T2W, DWI and FMRI in turn.")]
    [DefaultValue(6)]
    public int Stacks { get; init; } = 6;

    [CommandOption("--test-stacks <M>")]
    [Description("Test stacks (whole volumes with ground truth), spread the same way.")]
    [DefaultValue(3)]
    public int TestStacks { get; init; } = 3;

    [CommandOption("--seed <S>")]
    [Description("Master seed: the same seed writes the same files.")]
    [DefaultValue(PhantomOptions.DefaultSeed)]
    public int Seed { get; init; } = PhantomOptions.DefaultSeed;

    [CommandOption("--preview")]
    [Description("Also write OUT/preview/<stack>.png: slices with the mask outlined in red.")]
    public bool Preview { get; init; }

    [CommandOption("--overwrite")]
    [Description("Replace OUT/train_slice, OUT/test_volume and OUT/preview when OUT is not empty.")]
    public bool Overwrite { get; init; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Output)) return ValidationResult.Error("OUT must name a folder");
        if (Stacks is < 0 or > 9999) return ValidationResult.Error("--stacks must be 0..9999");
        if (TestStacks is < 0 or > 9999) return ValidationResult.Error("--test-stacks must be 0..9999");
        if (Stacks + TestStacks == 0) return ValidationResult.Error("nothing to write: --stacks and --test-stacks are both 0");
        return ValidationResult.Success();
    }
}

public sealed class DataPhantomCommand : Command<DataPhantomSettings>
{
    private static readonly string[] OwnFolders = ["train_slice", "test_volume", "preview"];

    public override int Execute(CommandContext context, DataPhantomSettings settings, CancellationToken cancellationToken)
    {
        string root = Path.GetFullPath(settings.Output);
        PrepareOutput(root, settings.Overwrite);
        var options = new PhantomOptions
        {
            Seed = settings.Seed,
            TrainStacks = StackCounts.Spread(settings.Stacks),
            TestStacks = StackCounts.Spread(settings.TestStacks),
        };

        var table = new Table().AddColumns("stack", "split", "shape", "spacing (mm)", "type", "empty masks", "median brain");
        var clock = Stopwatch.StartNew();
        PhantomWriter.WriteDataset(root, options, stack =>
        {
            var spec = stack.Spec;
            if (settings.Preview) PhantomPreview.Write(Path.Combine(root, "preview", spec.Name + ".png"), stack);

            double[] coverage = Enumerable.Range(0, stack.Depth).Select(stack.BrainFraction).ToArray();
            double[] nonEmpty = coverage.Where(c => c > 0).Order().ToArray();
            string[] row =
            [
                spec.Name, spec.IsTest ? "test" : "train", $"{stack.Width}x{stack.Height}x{stack.Depth}",
                FormattableString.Invariant($"{stack.SpacingX:0.###}x{stack.SpacingY:0.###}x{stack.SpacingZ:0.##}"),
                stack.ImageType.ToString().ToLowerInvariant(), (coverage.Length - nonEmpty.Length).ToString(),
                nonEmpty.Length > 0 ? Terminal.Percent(nonEmpty[nonEmpty.Length / 2]) : "-",
            ];
            if (Terminal.IsInteractive) table.AddRow(row.Select(Markup.Escape).ToArray());
            else Console.WriteLine(string.Join("  ", row));
        }, cancellationToken);
        if (Terminal.IsInteractive) AnsiConsole.Write(table);
        Console.WriteLine(FormattableString.Invariant(
            $"Wrote {settings.Stacks} training and {settings.TestStacks} test stacks (seed {settings.Seed}) to {root} in {clock.Elapsed.TotalSeconds:0.0} s"));
        return 0;
    }

    /// <summary>Refuses to mix a new phantom with old files; --overwrite removes only the folders this command writes.</summary>
    private static void PrepareOutput(string root, bool overwrite)
    {
        if (File.Exists(root)) throw new InvalidInputException(root, "is a file; OUT must be a folder");
        if (!Directory.Exists(root) || !Directory.EnumerateFileSystemEntries(root).Any()) return;
        if (!overwrite) throw new InvalidInputException(root, "is not empty; choose a new folder or pass --overwrite");
        foreach (string folder in OwnFolders)
        {
            string path = Path.Combine(root, folder);
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
    }
}
