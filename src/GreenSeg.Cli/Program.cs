using GreenSeg.Cli;
using GreenSeg.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("greenseg");
    config.SetExceptionHandler((ex, _) => CliErrors.Report(ex));
    config.AddCommand<InfoCommand>("info").WithDescription("Show the runtime: TorchSharp, threads, CPU, devices.");
    config.AddBranch("models", models =>
    {
        models.SetDescription("The model zoo: architectures, sizes and compute.");
        models.AddCommand<ModelsListCommand>("list").WithDescription("List every model: parameters, GMACs, reference.");
        models.AddCommand<ModelsShowCommand>("show").WithDescription("Show the layer table of one model.");
    });
    config.AddBranch("bench", bench =>
    {
        bench.SetDescription("Speed benchmarks on this machine.");
        bench.AddCommand<BenchModelsCommand>("models").WithDescription("Forward+backward time per slice: fp32/NCHW vs bf16-compute/channels-last.");
    });
});
return app.Run(args);
