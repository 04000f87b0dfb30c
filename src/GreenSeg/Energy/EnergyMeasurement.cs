namespace GreenSeg.Energy;

/// <summary>
/// Energy of one closed (or peeked) window: per component, with how each number was obtained, and its
/// carbon footprint. Joules are IT energy (what the hardware drew); PUE enters only the CO2eq.
/// </summary>
public sealed record EnergyMeasurement(
    string Name,
    DateTimeOffset Start,
    TimeSpan Duration,
    ComponentEnergy Cpu,
    ComponentEnergy Gpu,
    ComponentEnergy Ram,
    CarbonFactors Carbon,
    double? ProcessCpuSeconds)
{
    public IReadOnlyList<ComponentEnergy> Components => [Cpu, Gpu, Ram];
    public double TotalJoules => Cpu.Joules + Gpu.Joules + Ram.Joules;
    public double KilowattHours => EnergyUnits.ToKilowattHours(TotalJoules);
    public double Co2eqGrams => Carbon.GramsFor(KilowattHours);

    /// <summary>True when any component is a model estimate rather than a hardware reading.</summary>
    public bool AnyEstimated => Components.Any(c => c.Origin == EnergyOrigin.Estimated);

    /// <summary>"estimated" when any component is, else "measured": the one-word label beside a total.</summary>
    public string OriginLabel => AnyEstimated ? "estimated" : "measured";

    /// <summary>Mean power of a component over the window (0 for an empty window).</summary>
    public double MeanWatts(ComponentEnergy component) =>
        Duration.TotalSeconds > 0 ? component.Joules / Duration.TotalSeconds : 0;
}

/// <summary>
/// Energy per component that no emissions.csv row holds yet: what a training process had spent by its last
/// checkpoint, kept in the checkpoint so that a resume after a kill still reports it.
/// </summary>
public sealed record CarriedEnergy(double CpuJoules = 0, double GpuJoules = 0, double RamJoules = 0, double Seconds = 0)
{
    public double TotalJoules => CpuJoules + GpuJoules + RamJoules;

    /// <summary>The energy and time of a (peeked or ended) window.</summary>
    public static CarriedEnergy Of(EnergyMeasurement window) =>
        new(window.Cpu.Joules, window.Gpu.Joules, window.Ram.Joules, window.Duration.TotalSeconds);

    /// <summary>A measurement of this energy and time, with the sources, origins and carbon factors of <paramref name="template"/>.</summary>
    public EnergyMeasurement AsMeasurement(EnergyMeasurement template) => template with
    {
        Duration = TimeSpan.FromSeconds(Seconds),
        Cpu = template.Cpu with { Joules = CpuJoules },
        Gpu = template.Gpu with { Joules = GpuJoules },
        Ram = template.Ram with { Joules = RamJoules },
        ProcessCpuSeconds = null,
    };
}
