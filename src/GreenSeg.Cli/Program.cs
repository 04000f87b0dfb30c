using GreenSeg.Cli;
using GreenSeg.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("greenseg");
    config.SetExceptionHandler((ex, _) => CliErrors.Report(ex));
    config.AddCommand<InfoCommand>("info").WithDescription("Show the runtime: TorchSharp, threads, CPU, devices.");
    config.AddBranch("energy", energy =>
    {
        energy.SetDescription("Energy and carbon accounting.");
        energy.AddCommand<EnergyProbeCommand>("probe").WithDescription("Show what this machine lets us measure, what is estimated, and why.");
    });
    config.AddBranch("bench", bench =>
    {
        bench.SetDescription("Benchmarks that print a table.");
        bench.AddCommand<BenchEnergyCommand>("energy").WithDescription("Measure the energy monitor's overhead on a fixed CPU workload.");
    });
});
return app.Run(args);
