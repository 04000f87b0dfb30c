using System.Globalization;

namespace GreenSeg.Energy;

/// <summary>What /proc/cpuinfo says about the CPU: the first "model name" and the logical CPU count.</summary>
public sealed record CpuInfo(string? ModelName, int LogicalCpus)
{
    public static CpuInfo Read(string procRoot = ProcSelfCounters.DefaultRoot, Func<string, string>? reader = null)
    {
        reader ??= SystemFiles.DefaultReader;
        if (!SystemFiles.TryRead(reader, Path.Combine(procRoot, "cpuinfo"), out string text, out _))
            return new CpuInfo(null, Environment.ProcessorCount);
        string? model = null;
        int processors = 0;
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string key = line[..colon].Trim();
            if (key == "processor") processors++;
            else if (key == "model name" && model is null) model = line[(colon + 1)..].Trim();
        }
        return new CpuInfo(model, processors > 0 ? processors : Environment.ProcessorCount);
    }
}

/// <summary>
/// The power of one fully busy hardware thread, and how it was chosen. CPU time counts per hardware
/// thread, so TDP / threads-per-package makes a package whose threads are all busy draw exactly its TDP.
/// </summary>
public sealed record CpuPowerModel(string? CpuModel, double TdpWatts, int Threads, string Basis)
{
    /// <summary>
    /// TDP used when the CPU is not in <see cref="CpuTdpTable"/> and no --cpu-tdp is given: CodeCarbon's
    /// constant for unknown CPUs (POWER_CONSTANT = 85 in codecarbon/external/hardware.py), so our
    /// fallback numbers stay comparable with CodeCarbon's. Spread over the logical CPUs this OS sees,
    /// it overstates the share of a VM that sees a few vCPUs of a large server CPU: an overestimate,
    /// never an underestimate, until --cpu-tdp is given.
    /// </summary>
    public const double UnknownCpuTdpWatts = 85.0;

    public double WattsPerThread => TdpWatts / Threads;

    public static CpuPowerModel Resolve(CpuInfo cpu, double? tdpOverrideWatts)
    {
        CpuTdpEntry? entry = CpuTdpTable.Find(cpu.ModelName);
        string model = cpu.ModelName ?? "unknown CPU";
        if (tdpOverrideWatts is double tdp)
        {
            if (!(tdp > 0) || double.IsInfinity(tdp)) throw new Common.GreenSegException($"--cpu-tdp {tdp}: expected a positive number of watts");
            return entry is not null
                ? new CpuPowerModel(cpu.ModelName, tdp, entry.Threads, Invariant($"--cpu-tdp {tdp} W over the {entry.Threads} threads of a {entry.Key} package"))
                : new CpuPowerModel(cpu.ModelName, tdp, cpu.LogicalCpus, Invariant($"--cpu-tdp {tdp} W over the {cpu.LogicalCpus} logical CPUs this OS sees"));
        }
        return entry is not null
            ? new CpuPowerModel(cpu.ModelName, entry.TdpWatts, entry.Threads,
                Invariant($"{entry.Key}: {entry.TdpWatts} W over {entry.Threads} threads (vendor specification)"))
            : new CpuPowerModel(cpu.ModelName, UnknownCpuTdpWatts, cpu.LogicalCpus,
                Invariant($"'{model}' is not in the TDP table: CodeCarbon's {UnknownCpuTdpWatts} W default over the {cpu.LogicalCpus} logical CPUs this OS sees (give --cpu-tdp for a better estimate)"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// CPU energy estimated from this process's CPU time: seconds of CPU time × watts per busy thread.
/// Exact at every read (CPU time is a counter), so it needs no polling. It leaves out idle power and
/// other processes on purpose: the question is what this run costs.
/// </summary>
public sealed class CpuTimeEnergySource : IEnergySource
{
    private readonly ICpuTimeReader _cpuTime;
    private readonly double _startSeconds;

    public CpuTimeEnergySource(ICpuTimeReader cpuTime, CpuPowerModel power)
    {
        _cpuTime = cpuTime;
        Power = power;
        _startSeconds = cpuTime.ProcessCpuSeconds();
        Name = string.Create(CultureInfo.InvariantCulture, $"cpu-time model {power.WattsPerThread:0.###} W/thread");
    }

    public CpuPowerModel Power { get; }
    public EnergyComponent Component => EnergyComponent.Cpu;
    public EnergyOrigin Origin => EnergyOrigin.Estimated;
    public string Name { get; }
    public TimeSpan? PollInterval => null;

    public double ReadJoules() => (_cpuTime.ProcessCpuSeconds() - _startSeconds) * Power.WattsPerThread;

    public void Dispose() { }
}

/// <summary>
/// RAM energy estimated from this process's resident memory: W per GiB × resident GiB, integrated over
/// time from periodic samples. 0.375 W/GiB is CodeCarbon v2's "3 W per 8 GB" (CodeCarbon methodology,
/// RAM section, citing Crucial's "How much power does memory use?"). CodeCarbon v3 moved to a
/// per-DIMM machine-level model; a per-process share needs a per-byte rate, hence the v2 figure.
/// </summary>
public sealed class ResidentMemoryEnergySource : IEnergySource
{
    public const double DefaultWattsPerGiB = 0.375;

    private readonly IResidentMemoryReader _memory;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly PowerIntegrator _integrator;

    public ResidentMemoryEnergySource(IResidentMemoryReader memory, TimeProvider? time = null,
        double wattsPerGiB = DefaultWattsPerGiB, TimeSpan? pollInterval = null)
    {
        _memory = memory;
        _time = time ?? TimeProvider.System;
        WattsPerGiB = wattsPerGiB;
        PollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        _start = _time.GetTimestamp();
        _integrator = new PowerIntegrator(0, CurrentWatts());
        Name = string.Create(CultureInfo.InvariantCulture, $"resident-memory model {wattsPerGiB} W/GiB");
    }

    public double WattsPerGiB { get; }
    public EnergyComponent Component => EnergyComponent.Ram;
    public EnergyOrigin Origin => EnergyOrigin.Estimated;
    public string Name { get; }
    public TimeSpan? PollInterval { get; }

    public double ReadJoules() => _integrator.Add(_time.GetElapsedTime(_start).TotalSeconds, CurrentWatts());

    private double CurrentWatts() => WattsPerGiB * _memory.ResidentBytes() / EnergyUnits.BytesPerGiB;

    public void Dispose() { }
}
