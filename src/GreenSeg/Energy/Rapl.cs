using System.Globalization;
using System.Text.RegularExpressions;

namespace GreenSeg.Energy;

public enum RaplZoneKind { Package, Dram, Other }

/// <summary>One powercap zone (e.g. /sys/class/powercap/intel-rapl:0, name "package-0").</summary>
public sealed record RaplZone(string Path, string Id, string Name, RaplZoneKind Kind, ulong MaxEnergyRangeMicrojoules, bool Usable);

/// <summary>
/// What the Linux powercap tree offers: package zones (CPU), DRAM subzones (RAM) and why any of them
/// cannot be used. Intel and AMD (kernel ≥ 5.8) both appear as "intel-rapl:N[:M]" zones; the MMIO
/// view of the same package counter ("intel-rapl-mmio:N") is skipped so nothing is counted twice.
/// </summary>
public sealed partial class RaplScan
{
    public const string DefaultRoot = "/sys/class/powercap";

    private RaplScan(string root, bool rootExists, IReadOnlyList<RaplZone> zones, IReadOnlyList<string> diagnostics)
    {
        Root = root;
        RootExists = rootExists;
        Zones = zones;
        Diagnostics = diagnostics;
    }

    public string Root { get; }
    public bool RootExists { get; }
    public IReadOnlyList<RaplZone> Zones { get; }

    /// <summary>Every file or zone that could not be used, with the reason; never fatal.</summary>
    public IReadOnlyList<string> Diagnostics { get; }

    public IReadOnlyList<RaplZone> ZonesOf(RaplZoneKind kind) => Zones.Where(z => z.Kind == kind).ToList();

    /// <summary>
    /// The zones of one kind, only when every one of them is usable: summing the readable packages of
    /// a two-socket machine would silently report half its energy.
    /// </summary>
    public IReadOnlyList<RaplZone>? AllUsable(RaplZoneKind kind)
    {
        var zones = ZonesOf(kind);
        return zones.Count > 0 && zones.All(z => z.Usable) ? zones : null;
    }

    public static RaplScan Scan(string root = DefaultRoot, Func<string, string>? reader = null)
    {
        reader ??= SystemFiles.DefaultReader;
        var diagnostics = new List<string>();
        if (!Directory.Exists(root))
        {
            diagnostics.Add($"{root}: missing (kernel without powercap RAPL, or a VM/container that hides it)");
            return new RaplScan(root, false, [], diagnostics);
        }

        var zones = new List<RaplZone>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(root).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            diagnostics.Add($"{root}: cannot be listed ({ex.Message})");
            return new RaplScan(root, true, [], diagnostics);
        }

        foreach (string entry in entries.Order(StringComparer.Ordinal))
        {
            string id = System.IO.Path.GetFileName(entry);
            Match match = ZoneIdPattern().Match(id);
            if (!match.Success || !match.Groups["prefix"].Value.Contains("rapl", StringComparison.Ordinal)) continue;
            if (match.Groups["prefix"].Value.Contains("mmio", StringComparison.Ordinal))
            {
                diagnostics.Add($"{entry}: skipped (MMIO view of a package counter already read through MSR)");
                continue;
            }
            var zone = ReadZone(entry, id, isSubzone: match.Groups["sub"].Success, reader, diagnostics);
            if (zone is not null) zones.Add(zone);
        }

        if (zones.Count == 0 && diagnostics.Count == 0)
            diagnostics.Add($"{root}: no RAPL zones (no intel-rapl:N entries)");
        return new RaplScan(root, true, zones, diagnostics);
    }

    private static RaplZone? ReadZone(string path, string id, bool isSubzone, Func<string, string> reader, List<string> diagnostics)
    {
        if (!SystemFiles.TryRead(reader, System.IO.Path.Combine(path, "name"), out string nameText, out string problem))
        {
            diagnostics.Add($"{path}/name: {problem}; zone skipped");
            return null;
        }
        string name = nameText.Trim();
        RaplZoneKind kind = name switch
        {
            "dram" => RaplZoneKind.Dram,
            _ when !isSubzone && name.StartsWith("package", StringComparison.Ordinal) => RaplZoneKind.Package,
            _ => RaplZoneKind.Other,
        };
        if (kind == RaplZoneKind.Other)
        {
            // core/uncore are parts of the package counter; psys spans the whole platform and overlaps it.
            return new RaplZone(path, id, name, kind, 0, false);
        }

        bool usable = true;
        if (!SystemFiles.TryReadUInt64(reader, System.IO.Path.Combine(path, "max_energy_range_uj"), out ulong range, out problem))
        {
            diagnostics.Add($"{path}/max_energy_range_uj: {problem}; counter wrap-around could not be handled");
            usable = false;
        }
        else if (range == 0)
        {
            diagnostics.Add($"{path}/max_energy_range_uj: 0; counter wrap-around could not be handled");
            usable = false;
        }
        if (!SystemFiles.TryReadUInt64(reader, System.IO.Path.Combine(path, "energy_uj"), out _, out problem))
        {
            string hint = problem.StartsWith("not readable", StringComparison.Ordinal)
                ? " (since Linux 5.10 energy_uj is readable by root only; an administrator can relax it with a udev rule or chmod)"
                : "";
            diagnostics.Add($"{path}/energy_uj: {problem}{hint}");
            usable = false;
        }
        return new RaplZone(path, id, name, kind, range, usable);
    }

    [GeneratedRegex(@"^(?<prefix>[a-z][a-z-]*):(?<pkg>\d+)(:(?<sub>\d+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ZoneIdPattern();
}

/// <summary>
/// Sums the energy_uj counters of a set of RAPL zones, handling wrap-around: a counter lower than
/// its previous value has passed max_energy_range_uj once. Reading at least once per wrap period
/// (minutes at hundreds of watts) keeps the sum exact, hence the poll interval.
/// </summary>
public sealed class RaplCounterSource : IEnergySource
{
    private readonly IReadOnlyList<RaplZone> _zones;
    private readonly Func<string, string> _reader;
    private readonly ulong[] _last;
    private readonly List<string> _diagnostics = [];
    private ulong _totalMicrojoules;

    public RaplCounterSource(IReadOnlyList<RaplZone> zones, EnergyComponent component, Func<string, string>? reader = null,
        TimeSpan? pollInterval = null)
    {
        if (zones.Count == 0) throw new ArgumentException("at least one RAPL zone is needed", nameof(zones));
        _zones = zones;
        _reader = reader ?? SystemFiles.DefaultReader;
        Component = component;
        PollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        Name = "rapl " + string.Join("+", zones.Select(z => z.Kind == RaplZoneKind.Dram ? $"dram({z.Id})" : z.Name));
        _last = new ulong[zones.Count];
        for (int i = 0; i < zones.Count; i++)
        {
            if (!TryReadCounter(i, out _last[i]))
                throw new InvalidOperationException($"RAPL zone {zones[i].Path} became unreadable: {_diagnostics[^1]}");
        }
    }

    public EnergyComponent Component { get; }
    public EnergyOrigin Origin => EnergyOrigin.Measured;
    public string Name { get; }
    public TimeSpan? PollInterval { get; }

    /// <summary>Reads that failed after start (the previous value is kept, so no energy is lost unless a wrap is missed).</summary>
    public IReadOnlyList<string> Diagnostics => _diagnostics;

    public double ReadJoules()
    {
        for (int i = 0; i < _zones.Count; i++)
        {
            if (!TryReadCounter(i, out ulong now)) continue;
            _totalMicrojoules += Delta(_last[i], now, _zones[i].MaxEnergyRangeMicrojoules);
            _last[i] = now;
        }
        return _totalMicrojoules * 1e-6;
    }

    /// <summary>Energy between two counter values, assuming at most one wrap at <paramref name="range"/>.</summary>
    public static ulong Delta(ulong previous, ulong now, ulong range) =>
        now >= previous ? now - previous
        : previous <= range ? range - previous + now
        : now; // counter reset by the driver (previous above the range): count from zero

    private bool TryReadCounter(int index, out ulong value)
    {
        string path = System.IO.Path.Combine(_zones[index].Path, "energy_uj");
        if (SystemFiles.TryReadUInt64(_reader, path, out value, out string problem)) return true;
        if (_diagnostics.Count < 100) _diagnostics.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {problem}"));
        return false;
    }

    public void Dispose() { }
}
