using GreenSeg.Benchmarks;
using System.ComponentModel;
using System.Globalization;
using GreenSeg.Energy;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class BenchEnergySettings : EnergySettings
{
    [CommandOption("--seconds <S>")]
    [Description("Length of the fixed CPU workload, in seconds (default 2)")]
    [DefaultValue(2.0)]
    public double Seconds { get; init; } = 2.0;

    [CommandOption("--repeats <N>")]
    [Description("Interleaved repetitions of each case (default 5)")]
    [DefaultValue(5)]
    public int Repeats { get; init; } = 5;

    public override ValidationResult Validate()
    {
        if (!(Seconds > 0)) return ValidationResult.Error("--seconds must be positive");
        if (Repeats < 1) return ValidationResult.Error("--repeats must be at least 1");
        return base.Validate();
    }
}

/// <summary>`greenseg bench energy`: what energy accounting costs, as a table.</summary>
public sealed class BenchEnergyCommand : Command<BenchEnergySettings>
{
    public override int Execute(CommandContext context, BenchEnergySettings settings, CancellationToken cancellationToken)
    {
        var report = EnergyOverheadBenchmark.Run(settings.ToEnergyOptions(), MachinePaths.Default, settings.Seconds, settings.Repeats,
            EnergyConsole.Line, cancellationToken);

        EnergyConsole.Section(Invariant($"Energy monitor overhead ({report.Repeats} interleaved repeats, medians)"));
        EnergyConsole.Table(["case", "sampling", "wall s", "process CPU s", "wall overhead", "CPU overhead", "sampler polls", "sampler CPU ms", "sampler CPU % of wall"],
            report.Cases.Select(c => (IReadOnlyList<string>)
            [
                c.Name,
                c.SamplingInterval is TimeSpan t ? Invariant($"{t.TotalMilliseconds:0} ms") : "-",
                Invariant($"{c.MedianWallSeconds:0.000}"),
                Invariant($"{c.MedianProcessCpuSeconds:0.000}"),
                c.SamplingInterval is null ? "baseline" : Invariant($"{c.WallOverheadPercent:+0.00;-0.00}%"),
                c.SamplingInterval is null ? "baseline" : Invariant($"{c.CpuOverheadPercent:+0.00;-0.00}%"),
                c.SamplingInterval is null ? "-" : Invariant($"{c.SamplerPollsPerRun:0.#}"),
                c.SamplingInterval is null ? "-" : Invariant($"{c.SamplerCpuSecondsPerRun * 1000:0.###}") + (c.SamplerCpuIsThreadClock ? "" : " (wall)"),
                c.SamplingInterval is null ? "-" : Invariant($"{c.SamplerCpuPercentOfWall:0.####}%"),
            ]));
        EnergyConsole.Line(Invariant($"BeginWindow+EndWindow pair: {report.WindowPairMicroseconds:0.#} µs"));
        EnergyConsole.Line("Wall and CPU overheads include run-to-run noise (shared machines: several %); the sampler's own CPU time (thread clock) is the precise cost.");
        return 0;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
