namespace GreenSeg.Tests.Energy;

/// <summary>A temporary directory standing in for /sys/class/powercap or /proc.</summary>
public sealed class FakeTree : IDisposable
{
    public FakeTree()
    {
        Root = Path.Combine(Path.GetTempPath(), "greenseg-energy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string Write(string relativePath, string content)
    {
        string path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A RAPL zone directory with name, counter and range files.</summary>
    public void RaplZone(string id, string name, ulong? energyUj, ulong? maxRangeUj = 262143328850)
    {
        Write($"{id}/name", name + "\n");
        if (energyUj is ulong e) Write($"{id}/energy_uj", e + "\n");
        if (maxRangeUj is ulong m) Write($"{id}/max_energy_range_uj", m + "\n");
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A clock the test moves by hand, so time-based energy is exact and nothing sleeps.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks;
    private readonly DateTimeOffset _epoch = new(2025, 3, 14, 9, 26, 53, TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => _ticks;
    public override DateTimeOffset GetUtcNow() => _epoch.AddTicks(_ticks);
    public void Advance(TimeSpan by) => _ticks += by.Ticks;
    public void AdvanceSeconds(double seconds) => Advance(TimeSpan.FromSeconds(seconds));
}

/// <summary>CPU time and resident memory the test sets by hand.</summary>
public sealed class ManualProcessCounters : GreenSeg.Energy.ICpuTimeReader, GreenSeg.Energy.IResidentMemoryReader
{
    public double CpuSeconds { get; set; }
    public long Resident { get; set; }
    public double ProcessCpuSeconds() => CpuSeconds;
    public long ResidentBytes() => Resident;
}
