using GreenSeg.Cli;
using GreenSeg.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("greenseg");
    config.SetExceptionHandler((ex, _) => CliErrors.Report(ex));
    config.AddCommand<InfoCommand>("info").WithDescription("Show the runtime: TorchSharp, threads, CPU, devices.");
});
return app.Run(args);
