using System.ComponentModel;
using GreenSeg.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class DataStacksSettings : CommandSettings
{
    [CommandArgument(0, "<PATH>")]
    [Description("Dataset with training stacks stored as slices (e.g. an E2MIP folder's train_slice/).")]
    public string Path { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("Folder for images/<stack>.nii.gz and masks/<stack>_mask.nii.gz; existing files are never overwritten.")]
    public string? Out { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out DIR is required") : ValidationResult.Success();
}

/// <summary>`greenseg data stacks`: reassembles training stacks from their slices into 3D stacks and masks.</summary>
public sealed class DataStacksCommand : Command<DataStacksSettings>
{
    public override int Execute(CommandContext context, DataStacksSettings settings, CancellationToken cancellationToken)
    {
        var dataset = DatasetReader.Open(settings.Path);
        var written = StackExport.Write(dataset.TrainingStacks, settings.Out!);
        AnsiConsole.MarkupLine($"{written.Count} stacks written to [bold]{Markup.Escape(Path.GetFullPath(settings.Out!))}[/] (images/, masks/)");
        return 0;
    }
}
