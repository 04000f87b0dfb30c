using System.ComponentModel;
using GreenSeg.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class DataInspectSettings : CommandSettings
{
    [CommandArgument(0, "<PATH>")]
    [Description("Dataset: an E2MIP folder (train_slice/, test_volume/), a paired folder (images/, masks/), or a .csv of image,mask rows.")]
    public string Path { get; init; } = "";
}

public sealed class DataInspectCommand : Command<DataInspectSettings>
{
    public override int Execute(CommandContext context, DataInspectSettings settings, CancellationToken cancellationToken)
    {
        var dataset = DatasetReader.Open(settings.Path);
        var report = DatasetInspector.Inspect(dataset);

        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(dataset.Root)}[/] ({dataset.Layout} layout): " +
            $"{report.Stacks.Count} training stacks, {report.SlicesWithMasks} slices with masks, {report.TestVolumes.Count} test stacks");

        var sequences = new Table().Title("Per sequence").AddColumns("sequence", "train stacks", "slices", "empty masks", "test stacks", "shapes", "spacings", "types");
        foreach (var s in report.Sequences)
            sequences.AddTextRow(s.Sequence, s.TrainingStacks.ToString(), s.Slices.ToString(), s.EmptyMasks.ToString(), s.TestStacks.ToString(), s.Shapes, s.Spacings, s.ImageTypes);
        AnsiConsole.Write(sequences);

        if (report.Stacks.Count > 0)
        {
            var stacks = new Table().Title("Training stacks").AddColumns("stack", "slices", "shape", "spacing", "image", "mask", "empty masks", "median brain", "max brain");
            foreach (var s in report.Stacks)
                stacks.AddTextRow(s.Id, s.Slices.ToString(), s.Shapes, s.Spacings, s.ImageTypes, s.MaskTypes, s.EmptyMasks.ToString(),
                    Terminal.Percent(s.MedianCoverage), Terminal.Percent(s.MaxCoverage));
            AnsiConsole.Write(stacks);
        }
        if (report.TestVolumes.Count > 0)
        {
            var volumes = new Table().Title("Test stacks").AddColumns("stack", "shape", "spacing", "type", "brain (truth)");
            foreach (var v in report.TestVolumes)
                volumes.AddTextRow(v.Id, v.Shape, v.Spacing, v.ImageType, v.MaskCoverage is double c ? Terminal.Percent(c) : "no mask");
            AnsiConsole.Write(volumes);
        }
        if (report.Problems.Count == 0)
        {
            AnsiConsole.MarkupLine("[green]No problems found.[/]");
            return 0;
        }
        AnsiConsole.MarkupLine($"[yellow]{report.Problems.Count} problem(s):[/]");
        foreach (var p in report.Problems) AnsiConsole.MarkupLine($"  [yellow]{Markup.Escape(p.Path)}[/]: {Markup.Escape(p.Problem)}");
        return 1;
    }
}
