using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using GreenSeg.Common;

namespace GreenSeg.Energy;

/// <summary>Who produced a row: CodeCarbon's project_name / run_id / experiment_id.</summary>
public sealed record RunIdentity(string ProjectName, string RunId, string ExperimentId)
{
    public static RunIdentity New(string projectName, string experimentId = "") =>
        new(projectName, Guid.NewGuid().ToString(), experimentId);
}

/// <summary>
/// emissions.csv in CodeCarbon's format, so tools that read CodeCarbon files read ours. The columns are
/// those of CodeCarbon 3.x's EmissionsData dataclass, in its order (codecarbon/output_methods/
/// emissions_data.py; the 2.x file had 31 of them, 3.x added experiment_id, water_consumed, the
/// utilisation columns and wue). Units as CodeCarbon: energy kWh, emissions kg CO2eq, power W,
/// duration s. As in CodeCarbon, the energy columns include the PUE (facility energy); power columns do not.
/// Values GreenSeg does not track are left empty. The CSV has no room to say how each value was
/// obtained, so every row also goes to emissions_provenance.csv beside it (same run_id).
/// </summary>
public sealed class EmissionsCsvWriter
{
    public static IReadOnlyList<string> Columns { get; } =
    [
        "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
        "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
        "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
        "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
        "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
        "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
    ];

    public static IReadOnlyList<string> ProvenanceColumns { get; } =
    [
        "timestamp", "run_id", "experiment_id", "window", "component", "origin", "source", "joules",
        "carbon_intensity_g_per_kwh", "pue", "carbon_source",
    ];

    public const string ProvenanceFileName = "emissions_provenance.csv";

    private static readonly Lock FileLock = new();

    public EmissionsCsvWriter(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        ProvenancePath = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, ProvenanceFileName);
    }

    public string Path { get; }
    public string ProvenancePath { get; }

    /// <summary>Appends one row to each file; each file is rewritten to a temp file and renamed, so readers never see half a row.</summary>
    public void Append(EnergyMeasurement measurement, RunIdentity run, MachineInfo machine)
    {
        string timestamp = (measurement.Start + measurement.Duration).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        lock (FileLock)
        {
            AppendRows(Path, Columns, [Row(measurement, run, machine, timestamp)]);
            AppendRows(ProvenancePath, ProvenanceColumns, measurement.Components.Select(c => (IReadOnlyList<string>)
            [
                timestamp, run.RunId, run.ExperimentId, measurement.Name, c.Component.Label(), c.Origin.Label(), c.Source,
                Number(c.Joules), Number(measurement.Carbon.GramsPerKilowattHour), Number(measurement.Carbon.Pue), measurement.Carbon.Source,
            ]).ToList());
        }
    }

    /// <summary>One emissions.csv row, in <see cref="Columns"/> order.</summary>
    public static IReadOnlyList<string> Row(EnergyMeasurement m, RunIdentity run, MachineInfo machine, string timestamp)
    {
        double seconds = m.Duration.TotalSeconds;
        double pue = m.Carbon.Pue;
        double emissionsKg = m.Co2eqGrams / 1000.0;
        double? cpuUtilization = m.ProcessCpuSeconds is double cpu && seconds > 0 && machine.LogicalCpus > 0
            ? 100.0 * cpu / (seconds * machine.LogicalCpus)
            : null;
        return
        [
            timestamp, run.ProjectName, run.RunId, run.ExperimentId,
            Number(seconds), Number(emissionsKg), Number(seconds > 0 ? emissionsKg / seconds : 0),
            Number(m.MeanWatts(m.Cpu)), Number(m.MeanWatts(m.Gpu)), Number(m.MeanWatts(m.Ram)),
            Number(EnergyUnits.ToKilowattHours(m.Cpu.Joules) * pue), Number(EnergyUnits.ToKilowattHours(m.Gpu.Joules) * pue),
            Number(EnergyUnits.ToKilowattHours(m.Ram.Joules) * pue), Number(m.KilowattHours * pue),
            Number(0), // water_consumed: litres = kWh × WUE, and GreenSeg takes WUE as 0
            m.Carbon.CountryName, m.Carbon.CountryIsoCode, "", "", "",
            machine.Os, RuntimeInformation.FrameworkDescription, GreenSegVersion,
            Number(machine.LogicalCpus), machine.CpuModel ?? "",
            machine.GpuCount > 0 ? Number(machine.GpuCount) : "", machine.GpuModel,
            "", "", machine.RamTotalGiB is double ram ? Number(ram) : "",
            m.Cpu.Origin == EnergyOrigin.Measured ? "machine" : "process",
            cpuUtilization is double u ? Number(u) : "", "", "", "",
            "N", Number(pue), Number(0),
        ];
    }

    /// <summary>What the codecarbon_version column holds: the GreenSeg build that wrote the row.</summary>
    public static string GreenSegVersion { get; } = "greenseg-" +
        (typeof(EmissionsCsvWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0");

    private static void AppendRows(string path, IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        string header = Line(columns);
        var text = new StringBuilder();
        if (File.Exists(path))
        {
            string existing = File.ReadAllText(path);
            string firstLine = existing.Split('\n', 2)[0].TrimEnd('\r');
            if (firstLine != header)
                throw new InvalidInputException(path,
                    "its header is not the column set GreenSeg writes (CodeCarbon 3.x emissions.csv); move the file away or write to another directory");
            text.Append(existing);
            if (existing.Length > 0 && existing[^1] != '\n') text.Append('\n');
        }
        else
        {
            text.Append(header).Append('\n');
        }
        foreach (var row in rows) text.Append(Line(row)).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }

    private static string Line(IEnumerable<string> fields) => string.Join(",", fields.Select(Escape));

    private static string Escape(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
