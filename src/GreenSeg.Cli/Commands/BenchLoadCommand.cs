using System.ComponentModel;
using System.Globalization;
using GreenSeg.Benchmarks;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class BenchLoadSettings : CommandSettings
{
    [CommandOption("--steps <N>")]
    [Description("Timed training steps and inference batches per row, after one warm-up each.")]
    [DefaultValue(8)]
    public int Steps { get; init; } = 8;

    [CommandOption("--max-load <N>")]
    [Description("Rows with 0..N spinning threads beside the work (default: the number of cores).")]
    public int? MaxLoad { get; init; }
}

/// <summary>greenseg bench load: training and inference on an idle machine against a machine kept busy by other work.</summary>
public sealed class BenchLoadCommand : Command<BenchLoadSettings>
{
    public override int Execute(CommandContext context, BenchLoadSettings settings, CancellationToken cancellationToken)
    {
        var options = new BusyMachineOptions { Steps = settings.Steps, MaxLoadThreads = settings.MaxLoad ?? Environment.ProcessorCount };
        var rows = BusyMachineBenchmark.Run(options, cancellationToken);
        var idle = rows[0];
        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        ConsoleTable.Line($"{options.Model} width {options.ModelWidth}, batch {options.BatchSize} at {options.Size}x{options.Size}, fp32 channels-last, " +
            $"{Environment.ProcessorCount} cores; the load is threads spinning on arithmetic; slowdown against the idle first row");
        ConsoleTable.Write(
            ["busy threads", "libtorch threads", "training ms/step", "slowdown", "inference ms/batch", "slowdown"],
            rows.Select(r => (IReadOnlyList<string>)
            [
                r.LoadThreads.ToString(CultureInfo.InvariantCulture), r.TorchThreads.ToString(CultureInfo.InvariantCulture),
                F(r.TrainingStepMs, "F0"), F(r.TrainingStepMs / idle.TrainingStepMs, "F2") + "x",
                F(r.InferenceBatchMs, "F0"), F(r.InferenceBatchMs / idle.InferenceBatchMs, "F2") + "x",
            ]), 0, 1, 2, 3, 4, 5);
        return 0;
    }
}
