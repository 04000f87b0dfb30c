using System.Globalization;

namespace GreenSeg.Energy;

/// <summary>
/// The energy columns of a training metrics.csv row (per epoch or per run) and of inference reports:
/// total in J, kJ and Wh, per component in J, CO2eq in g, and how each component was obtained.
/// </summary>
public sealed record EnergyColumns(double Joules, double CpuJoules, double GpuJoules, double RamJoules, double Co2eqGrams, string Origin)
{
    public static EnergyColumns From(EnergyMeasurement m) => new(
        m.TotalJoules, m.Cpu.Joules, m.Gpu.Joules, m.Ram.Joules, m.Co2eqGrams,
        string.Join(";", m.Components.Select(c => $"{c.Component.Label()}={c.Origin.Label()}")));

    public double Kilojoules => Joules / 1000.0;
    public double WattHours => EnergyUnits.ToWattHours(Joules);

    /// <summary>Column names, optionally prefixed (e.g. "run_" for whole-run totals beside per-epoch values).</summary>
    public static IReadOnlyList<string> Headers(string prefix = "") =>
    [
        $"{prefix}energy_j", $"{prefix}energy_kj", $"{prefix}energy_wh", $"{prefix}cpu_j", $"{prefix}gpu_j",
        $"{prefix}ram_j", $"{prefix}co2eq_g", $"{prefix}energy_origin",
    ];

    /// <summary>Values in <see cref="Headers"/> order, invariant culture, with precision suited to each unit.</summary>
    public IReadOnlyList<string> Values() =>
    [
        Fixed(Joules, 3), Fixed(Kilojoules, 6), Fixed(WattHours, 6), Fixed(CpuJoules, 3), Fixed(GpuJoules, 3),
        Fixed(RamJoules, 3), Fixed(Co2eqGrams, 6), Origin,
    ];

    private static string Fixed(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);
}
