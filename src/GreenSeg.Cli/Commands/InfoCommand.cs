using System.Runtime.InteropServices;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;

namespace GreenSeg.Cli.Commands;

public sealed class InfoCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        var table = new Table().AddColumns("what", "value");
        table.AddRow("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString() ?? "?");
        table.AddRow("libtorch threads", torch.get_num_threads().ToString());
        table.AddRow("CUDA available", torch.cuda.is_available().ToString());
        table.AddRow("processors", Environment.ProcessorCount.ToString());
        foreach (var (name, value) in GreenSeg.Common.NativeEnvironment.Applied) table.AddRow(name, Markup.Escape(value));
        table.AddRow("OS", RuntimeInformation.OSDescription);
        table.AddRow(".NET", RuntimeInformation.FrameworkDescription);
        AnsiConsole.Write(table);
        return 0;
    }
}
