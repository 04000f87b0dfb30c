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

    /// <summary>Mean power of a component over the window (0 for an empty window).</summary>
    public double MeanWatts(ComponentEnergy component) =>
        Duration.TotalSeconds > 0 ? component.Joules / Duration.TotalSeconds : 0;
}
