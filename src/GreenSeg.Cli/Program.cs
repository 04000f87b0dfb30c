using GreenSeg.Cli;
using GreenSeg.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

// Redirected output (logs, CI) has no terminal width: give tables room instead of Spectre's 80 columns.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("greenseg");
    config.SetExceptionHandler((ex, _) => CliErrors.Report(ex));
    config.AddCommand<InfoCommand>("info").WithDescription("Show the runtime: TorchSharp, threads, CPU, devices.");
    config.AddBranch("data", data =>
    {
        data.SetDescription("Generate and inspect datasets.");
        data.AddCommand<DataPhantomCommand>("phantom").WithDescription("Write the synthetic fetal-MRI phantom (T2W, DWI, FMRI stacks with exact brain masks) in the E2MIP layout.");
        data.AddCommand<DataInspectCommand>("inspect").WithDescription("Report stacks, slices, shapes, spacings, types, mask coverage and problems of a dataset.");
    });
});
return app.Run(args);
