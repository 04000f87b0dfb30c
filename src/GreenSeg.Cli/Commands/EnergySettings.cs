using System.ComponentModel;
using System.Globalization;
using GreenSeg.Energy;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

/// <summary>
/// The energy and carbon options, for any command that accounts for energy (train, segment, …):
/// derive its settings from this class and call <see cref="ToEnergyOptions"/>.
/// </summary>
public class EnergySettings : CommandSettings
{
    [CommandOption("--cpu-tdp <WATTS>")]
    [Description("CPU package TDP in W for the CPU-time model (default: the built-in table, else CodeCarbon's 85 W)")]
    public double? CpuTdp { get; init; }

    [CommandOption("--country <ISO3>")]
    [Description("ISO 3166 alpha-3 code of the electricity grid, e.g. POL (default: world average)")]
    public string? Country { get; init; }

    [CommandOption("--carbon-intensity <G_PER_KWH>")]
    [Description("Grid carbon intensity in gCO2eq/kWh; overrides --country's table value")]
    public double? CarbonIntensity { get; init; }

    [CommandOption("--pue <P>")]
    [Description("Power usage effectiveness of the facility, ≥ 1 (default 1.0: a workstation)")]
    [DefaultValue(DefaultPue)]
    public double Pue { get; init; } = DefaultPue;

    public const double DefaultPue = 1.0;

    [CommandOption("--gpus <INDICES>")]
    [Description("NVML indices of the GPUs this process uses, comma-separated (default: none)")]
    public string? Gpus { get; init; }

    public override ValidationResult Validate()
    {
        if (CpuTdp is double tdp && !(tdp > 0)) return ValidationResult.Error("--cpu-tdp must be a positive number of watts");
        if (CarbonIntensity is double g && !(g >= 0)) return ValidationResult.Error("--carbon-intensity must be ≥ 0 gCO2eq/kWh");
        if (!(Pue >= 1.0)) return ValidationResult.Error("--pue must be ≥ 1.0");
        if (Gpus is not null && ParseGpus(Gpus) is null) return ValidationResult.Error($"--gpus '{Gpus}': expected indices like 0 or 0,1");
        return ValidationResult.Success();
    }

    public EnergyOptions ToEnergyOptions() => new()
    {
        CpuTdpWatts = CpuTdp,
        Country = Country,
        CarbonIntensity = CarbonIntensity,
        Pue = Pue,
        GpuIndices = Gpus is null ? [] : ParseGpus(Gpus)!,
    };

    private static IReadOnlyList<int>? ParseGpus(string text)
    {
        var indices = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int index)) return null;
            indices.Add(index);
        }
        return indices.Count > 0 ? indices : null;
    }
}

/// <summary>Tables for the energy commands, or plain "key: value" lines when output is redirected or CI=true.</summary>
internal static class EnergyConsole
{
    public static bool Plain => Console.IsOutputRedirected || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void Section(string title)
    {
        if (Plain) Console.WriteLine($"\n== {title} ==");
        else AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(title)}[/]").LeftJustified());
    }

    public static void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        if (Plain)
        {
            foreach (var row in rows) Console.WriteLine(string.Join(" | ", headers.Zip(row, (h, v) => $"{h}: {v}")));
            return;
        }
        var table = new Table().AddColumns(headers.Select(h => new TableColumn(Markup.Escape(h))).ToArray());
        foreach (var row in rows) table.AddTextRow([.. row]);
        AnsiConsole.Write(table);
    }

    public static void Line(string text)
    {
        if (Plain) Console.WriteLine(text);
        else AnsiConsole.WriteLine(text);
    }
}
