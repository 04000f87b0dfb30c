using System.Globalization;
using GreenSeg.Energy;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

/// <summary>`greenseg energy probe`: what this machine lets us measure, what is estimated and why.</summary>
public sealed class EnergyProbeCommand : Command<EnergySettings>
{
    public override int Execute(CommandContext context, EnergySettings settings, CancellationToken cancellationToken)
    {
        using var plan = EnergyPlan.Create(settings.ToEnergyOptions());

        EnergyConsole.Section("Counters on this machine");
        EnergyConsole.Table(["interface", "status"],
        [
            ["RAPL (powercap)", plan.Rapl.RootExists
                ? $"{plan.Rapl.Root}: {plan.Rapl.Zones.Count} zone(s), {plan.Rapl.Zones.Count(z => z.Usable)} usable"
                : $"{plan.Rapl.Root}: not present"],
            ["NVML", plan.NvmlStatus],
            ["/proc", plan.ProcStatus],
        ]);
        if (plan.Rapl.Zones.Count > 0)
            EnergyConsole.Table(["zone", "name", "counts as", "readable"],
                plan.Rapl.Zones.Select(z => (IReadOnlyList<string>)[z.Path, z.Name, KindLabel(z.Kind), z.Kind == RaplZoneKind.Other ? "-" : z.Usable ? "yes" : "no"]));
        foreach (string diagnostic in plan.Rapl.Diagnostics) EnergyConsole.Line($"  rapl: {diagnostic}");

        EnergyConsole.Section("How each component is accounted for");
        EnergyConsole.Table(["component", "origin", "source", "why"],
            plan.Components.Select(c => (IReadOnlyList<string>)[c.Component.Label(), c.Origin.Label(), c.Source, c.Reason]));

        EnergyConsole.Section("CPU power model");
        var cpu = plan.CpuPower;
        bool cpuEstimated = plan.Components.Any(c => c.Component == EnergyComponent.Cpu && c.Origin == EnergyOrigin.Estimated);
        EnergyConsole.Table(["what", "value"],
        [
            ["model name", plan.Cpu.ModelName ?? "(not in /proc/cpuinfo)"],
            ["logical CPUs seen", plan.Cpu.LogicalCpus.ToString(CultureInfo.InvariantCulture)],
            ["TDP used", Invariant($"{cpu.TdpWatts} W over {cpu.Threads} threads = {cpu.WattsPerThread:0.###} W per busy thread")],
            ["basis", cpu.Basis],
            ["in use", cpuEstimated ? "yes: CPU energy is estimated" : "no: CPU energy is measured"],
        ]);

        EnergyConsole.Section("Carbon");
        var carbon = plan.Carbon;
        EnergyConsole.Table(["what", "value"],
        [
            ["grid", $"{carbon.CountryName} ({carbon.CountryIsoCode})"],
            ["intensity", Invariant($"{carbon.GramsPerKilowattHour} gCO2eq/kWh")],
            ["source", carbon.Source],
            ["PUE", Invariant($"{carbon.Pue}")],
            ["1 kWh of IT energy", Invariant($"{carbon.GramsFor(1):0.#} gCO2eq")],
        ]);
        return 0;
    }

    private static string KindLabel(RaplZoneKind kind) => kind switch
    {
        RaplZoneKind.Package => "cpu",
        RaplZoneKind.Dram => "ram",
        _ => "ignored (inside a package, or platform-wide)",
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
