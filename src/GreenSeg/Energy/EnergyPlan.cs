using System.Globalization;
using System.Runtime.InteropServices;
using GreenSeg.Common;
using YamlDotNet.Serialization;

namespace GreenSeg.Energy;

/// <summary>
/// The user's energy and carbon choices, shared by every command that accounts for energy: the CLI's energy flags
/// build it, and it is a training config's <c>energy:</c> section (cpu-tdp, country, carbon-intensity, pue).
/// </summary>
public sealed record EnergyOptions
{
    /// <summary>CPU package TDP in W; null uses the table, or CodeCarbon's 85 W for unknown CPUs.</summary>
    [YamlMember(Alias = "cpu-tdp")]
    public double? CpuTdpWatts { get; init; }

    /// <summary>ISO 3166 alpha-3 code of the grid; null means the world average.</summary>
    public string? Country { get; init; }

    /// <summary>Grid intensity in gCO2eq/kWh; overrides the country table.</summary>
    public double? CarbonIntensity { get; init; }

    /// <summary>Power usage effectiveness of the facility (≥ 1; 1.0 for a workstation).</summary>
    public double Pue { get; init; } = 1.0;

    /// <summary>NVML indices of the GPUs this process uses; empty for CPU-only runs. Not a config key: a training run takes it from its device.</summary>
    [YamlIgnore]
    public IReadOnlyList<int> GpuIndices { get; init; } = [];

    /// <summary>Throws a <see cref="GreenSegException"/> naming the first value (by its config key) that cannot be meant.</summary>
    public EnergyOptions Validate()
    {
        if (CpuTdpWatts is double tdp && !(tdp > 0 && double.IsFinite(tdp)))
            throw new GreenSegException(FormattableString.Invariant($"cpu-tdp must be a positive number of watts, got {tdp}"));
        if (CarbonIntensity is double g && !(g >= 0 && double.IsFinite(g)))
            throw new GreenSegException(FormattableString.Invariant($"carbon-intensity must be a finite number >= 0 gCO2eq/kWh, got {g}"));
        if (!(Pue >= 1 && double.IsFinite(Pue)))
            throw new GreenSegException(FormattableString.Invariant($"pue must be a finite number >= 1, got {Pue}"));
        return this;
    }
}

/// <summary>Where the machine's counters live. Tests point these at fake trees.</summary>
public sealed record MachinePaths
{
    public static MachinePaths Default { get; } = new();

    public string PowercapRoot { get; init; } = RaplScan.DefaultRoot;
    public string ProcRoot { get; init; } = ProcSelfCounters.DefaultRoot;
    public string NvmlLibrary { get; init; } = Energy.NvmlLibrary.DefaultLibraryName;

    /// <summary>Reads kernel files; replaceable to simulate unreadable files.</summary>
    public Func<string, string> Reader { get; init; } = SystemFiles.DefaultReader;

    /// <summary>USER_HZ for /proc CPU times; null asks sysconf(_SC_CLK_TCK).</summary>
    public long? ClockTicksPerSecond { get; init; }
}

/// <summary>How one component will be accounted for, and why.</summary>
public sealed record ComponentPlan(EnergyComponent Component, EnergyOrigin Origin, string Source, string Reason);

/// <summary>The machine as CodeCarbon's emissions.csv describes it.</summary>
public sealed record MachineInfo(string? CpuModel, int LogicalCpus, double? RamTotalGiB, int GpuCount, string GpuModel, string Os);

/// <summary>
/// Decides, component by component, the best available source — RAPL/NVML counters, else the
/// documented models — and records why. Used by `greenseg energy probe` to explain, and by runs to
/// start an <see cref="EnergyMonitor"/> with exactly what the probe showed.
/// </summary>
public sealed class EnergyPlan : IDisposable
{
    private readonly List<IEnergySource> _sources;
    private bool _handedOver;

    private EnergyPlan(List<IEnergySource> sources, IReadOnlyList<ComponentPlan> components, RaplScan rapl, string nvmlStatus,
        string procStatus, CpuInfo cpu, CpuPowerModel cpuPower, CarbonFactors carbon, ICpuTimeReader cpuTime, MachineInfo machine)
    {
        _sources = sources;
        Components = components;
        Rapl = rapl;
        NvmlStatus = nvmlStatus;
        ProcStatus = procStatus;
        Cpu = cpu;
        CpuPower = cpuPower;
        Carbon = carbon;
        CpuTime = cpuTime;
        Machine = machine;
    }

    public IReadOnlyList<IEnergySource> Sources => _sources;
    public IReadOnlyList<ComponentPlan> Components { get; }
    public RaplScan Rapl { get; }
    public string NvmlStatus { get; }
    public string ProcStatus { get; }
    public CpuInfo Cpu { get; }

    /// <summary>The CPU model's power figures (used when CPU energy is estimated).</summary>
    public CpuPowerModel CpuPower { get; }
    public CarbonFactors Carbon { get; }
    public ICpuTimeReader CpuTime { get; }
    public MachineInfo Machine { get; }

    public static EnergyPlan Create(EnergyOptions options, MachinePaths? paths = null, TimeProvider? time = null)
    {
        paths ??= MachinePaths.Default;
        var carbon = CarbonFactors.Resolve(options.Country, options.CarbonIntensity, options.Pue);
        var cpu = CpuInfo.Read(paths.ProcRoot, paths.Reader);
        var cpuPower = CpuPowerModel.Resolve(cpu, options.CpuTdpWatts);

        var proc = new ProcSelfCounters(paths.ProcRoot, paths.ClockTicksPerSecond, reader: paths.Reader);
        bool procReadable = proc.IsReadable(out string procProblem);
        ICpuTimeReader cpuTime = procReadable ? proc : new DotnetProcessCounters();
        IResidentMemoryReader memory = procReadable ? proc : new DotnetProcessCounters();
        string procStatus = procReadable
            ? $"{paths.ProcRoot}/self/stat and statm readable (clock ticks {proc.ClockTicksPerSecond}/s)"
            : $"{paths.ProcRoot}/self not usable ({procProblem}); CPU time and resident memory come from .NET's Process instead";

        var sources = new List<IEnergySource>();
        var components = new List<ComponentPlan>();
        var rapl = RaplScan.Scan(paths.PowercapRoot, paths.Reader);
        try
        {
            components.Add(PlanCpu(rapl, paths, cpuTime, cpuPower, sources));
            components.Add(PlanGpu(options.GpuIndices, paths, time, sources, out string nvmlStatus, out int gpuCount, out string gpuModel));
            components.Add(PlanRam(rapl, paths, memory, time, sources));
            var machine = new MachineInfo(cpu.ModelName, cpu.LogicalCpus, ReadRamTotalGiB(paths), gpuCount, gpuModel,
                RuntimeInformation.OSDescription);
            return new EnergyPlan(sources, components, rapl, nvmlStatus, procStatus, cpu, cpuPower, carbon, cpuTime, machine);
        }
        catch
        {
            foreach (var source in sources) source.Dispose();
            throw;
        }
    }

    /// <summary>Starts a monitor over this plan's sources; the monitor owns them from then on.</summary>
    public EnergyMonitor StartMonitor(TimeProvider? time = null, EnergyMonitorOptions? options = null)
    {
        if (_handedOver) throw new InvalidOperationException("this plan's sources already belong to a monitor");
        _handedOver = true;
        return new EnergyMonitor(_sources, Carbon, CpuTime, time, options);
    }

    private static ComponentPlan PlanCpu(RaplScan rapl, MachinePaths paths, ICpuTimeReader cpuTime, CpuPowerModel power,
        List<IEnergySource> sources)
    {
        string why;
        if (rapl.AllUsable(RaplZoneKind.Package) is { } packages)
        {
            try
            {
                var source = new RaplCounterSource(packages, EnergyComponent.Cpu, paths.Reader);
                sources.Add(source);
                return new ComponentPlan(EnergyComponent.Cpu, EnergyOrigin.Measured, source.Name,
                    $"RAPL package counters readable ({packages.Count} package(s)); machine-level: every process on the CPU counts");
            }
            catch (InvalidOperationException ex)
            {
                why = ex.Message;
            }
        }
        else
        {
            why = rapl.ZonesOf(RaplZoneKind.Package).Count == 0 ? "no RAPL package counter" : "a RAPL package counter is not readable";
        }
        var model = new CpuTimeEnergySource(cpuTime, power);
        sources.Add(model);
        return new ComponentPlan(EnergyComponent.Cpu, EnergyOrigin.Estimated, model.Name,
            $"{why}: this process's CPU time × {power.WattsPerThread.ToString("0.###", CultureInfo.InvariantCulture)} W per busy thread ({power.Basis})");
    }

    private static ComponentPlan PlanRam(RaplScan rapl, MachinePaths paths, IResidentMemoryReader memory, TimeProvider? time,
        List<IEnergySource> sources)
    {
        string why;
        if (rapl.AllUsable(RaplZoneKind.Dram) is { } drams)
        {
            try
            {
                var source = new RaplCounterSource(drams, EnergyComponent.Ram, paths.Reader);
                sources.Add(source);
                return new ComponentPlan(EnergyComponent.Ram, EnergyOrigin.Measured, source.Name,
                    "RAPL DRAM counters readable; machine-level: all memory traffic counts");
            }
            catch (InvalidOperationException ex)
            {
                why = ex.Message;
            }
        }
        else
        {
            why = rapl.ZonesOf(RaplZoneKind.Dram).Count == 0 ? "no RAPL DRAM counter" : "a RAPL DRAM counter is not readable";
        }
        var model = new ResidentMemoryEnergySource(memory, time);
        sources.Add(model);
        return new ComponentPlan(EnergyComponent.Ram, EnergyOrigin.Estimated, model.Name,
            string.Create(CultureInfo.InvariantCulture,
                $"{why}: this process's resident memory × {model.WattsPerGiB} W/GiB (CodeCarbon v2's 3 W per 8 GB), sampled every {model.PollInterval!.Value.TotalSeconds} s"));
    }

    private static ComponentPlan PlanGpu(IReadOnlyList<int> indices, MachinePaths paths, TimeProvider? time,
        List<IEnergySource> sources, out string nvmlStatus, out int gpuCount, out string gpuModel)
    {
        gpuCount = 0;
        gpuModel = "";
        var nvml = NvmlLibrary.TryOpen(out string problem, paths.NvmlLibrary);
        if (nvml is null)
        {
            nvmlStatus = problem;
            return new ComponentPlan(EnergyComponent.Gpu, EnergyOrigin.None, "no GPU in use",
                indices.Count == 0 ? "no GPU index given" : $"GPU(s) {string.Join(",", indices)} asked for, but NVML is unavailable: {problem}; GPU energy is NOT counted");
        }

        var names = Enumerable.Range(0, nvml.DeviceCount).Select(nvml.DeviceName).ToList();
        nvmlStatus = $"{paths.NvmlLibrary} loaded; {names.Count} GPU(s): {string.Join("; ", names.Select((n, i) => $"{i}: {n}"))}";
        if (indices.Count == 0)
        {
            nvml.Dispose();
            return new ComponentPlan(EnergyComponent.Gpu, EnergyOrigin.None, "no GPU in use",
                "no GPU index given (--gpus); GPUs present but not used by this process are not counted");
        }
        var source = NvmlGpuSource.TryCreate(nvml, indices, time, out problem);
        if (source is null)
        {
            nvml.Dispose();
            return new ComponentPlan(EnergyComponent.Gpu, EnergyOrigin.None, "no GPU in use", $"{problem}; GPU energy is NOT counted");
        }
        sources.Add(source);
        var used = indices.Distinct().Select(i => names[i]).ToList();
        gpuCount = used.Count;
        gpuModel = string.Join(", ", used.GroupBy(n => n).Select(g => $"{g.Count()} x {g.Key}"));
        return new ComponentPlan(EnergyComponent.Gpu, EnergyOrigin.Measured, source.Name,
            "NVML board energy/power of the GPUs this process uses (board-level: other processes on them count too)");
    }

    private static double? ReadRamTotalGiB(MachinePaths paths)
    {
        if (!SystemFiles.TryRead(paths.Reader, Path.Combine(paths.ProcRoot, "meminfo"), out string text, out _)) return null;
        foreach (string line in text.Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            string[] parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib))
                return kib * 1024.0 / EnergyUnits.BytesPerGiB;
        }
        return null;
    }

    public void Dispose()
    {
        if (_handedOver) return;
        _handedOver = true;
        foreach (var source in _sources) source.Dispose();
    }
}
