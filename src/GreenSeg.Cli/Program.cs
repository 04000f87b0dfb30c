using GreenSeg.Cli;
using GreenSeg.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("greenseg");
    config.SetExceptionHandler((ex, _) => CliErrors.Report(ex));
    config.AddCommand<InfoCommand>("info").WithDescription("Show the runtime: TorchSharp, threads, CPU, devices.");
    config.AddCommand<EvaluateCommand>("evaluate").WithDescription("Compare predicted masks with reference masks: Dice, IoU, HD95, ASSD, volume.");
});
return app.Run(args);
