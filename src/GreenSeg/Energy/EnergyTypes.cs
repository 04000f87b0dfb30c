namespace GreenSeg.Energy;

/// <summary>The hardware parts whose energy GreenSeg accounts for.</summary>
public enum EnergyComponent { Cpu, Gpu, Ram }

/// <summary>How a number was obtained; shown beside every energy value GreenSeg writes.</summary>
public enum EnergyOrigin
{
    /// <summary>Read from a hardware energy/power counter (RAPL, NVML).</summary>
    Measured,
    /// <summary>Computed by a documented model (CPU time × per-thread power, resident memory × W/GiB).</summary>
    Estimated,
    /// <summary>Nothing to account for (e.g. no GPU in use); the value is 0 J.</summary>
    None,
}

public static class EnergyOriginExtensions
{
    /// <summary>The label written in tables and CSV files: measured, estimated or none.</summary>
    public static string Label(this EnergyOrigin origin) => origin switch
    {
        EnergyOrigin.Measured => "measured",
        EnergyOrigin.Estimated => "estimated",
        _ => "none",
    };

    public static string Label(this EnergyComponent component) => component switch
    {
        EnergyComponent.Cpu => "cpu",
        EnergyComponent.Gpu => "gpu",
        _ => "ram",
    };
}

/// <summary>Energy of one component over a window, with how it was obtained and from which source.</summary>
public sealed record ComponentEnergy(EnergyComponent Component, double Joules, EnergyOrigin Origin, string Source);

/// <summary>Unit conversions used everywhere (one place, so J/kWh factors cannot drift apart).</summary>
public static class EnergyUnits
{
    public const double JoulesPerWattHour = 3600.0;
    public const double JoulesPerKilowattHour = 3.6e6;
    public const double BytesPerGiB = 1024.0 * 1024.0 * 1024.0;

    public static double ToKilowattHours(double joules) => joules / JoulesPerKilowattHour;
    public static double ToWattHours(double joules) => joules / JoulesPerWattHour;

    /// <summary>Human text such as "12.3 kJ (3.42 Wh)".</summary>
    public static string Describe(double joules)
    {
        string scaled = Math.Abs(joules) switch
        {
            >= 1e6 => FormattableString.Invariant($"{joules / 1e6:0.###} MJ"),
            >= 1e3 => FormattableString.Invariant($"{joules / 1e3:0.###} kJ"),
            _ => FormattableString.Invariant($"{joules:0.###} J"),
        };
        return FormattableString.Invariant($"{scaled} ({ToWattHours(joules):0.####} Wh)");
    }
}
