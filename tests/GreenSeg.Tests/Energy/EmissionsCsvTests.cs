using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class EmissionsCsvTests : IDisposable
{
    /// <summary>
    /// CodeCarbon 3.x's emissions.csv header, copied from a file written by codecarbon 3.2.5 and equal
    /// to the field order of codecarbon/output_methods/emissions_data.py's EmissionsData.
    /// </summary>
    private const string CodeCarbonHeader =
        "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power," +
        "cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,region," +
        "cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model," +
        "longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent," +
        "ram_utilization_percent,ram_used_gb,on_cloud,pue,wue";

    private readonly FakeTree _dir = new();
    private readonly MachineInfo _machine = new("Intel(R) Xeon(R) Gold 6248, 2.5GHz", 4, 16, 0, "", "Linux");

    public void Dispose() => _dir.Dispose();

    /// <summary>7.2 kJ CPU + 0.36 kJ RAM over 100 s, 2 CPU-seconds used, Poland, PUE 1.5.</summary>
    private static EnergyMeasurement Measurement(string name = "run") => new(
        name,
        new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero),
        TimeSpan.FromSeconds(100),
        new ComponentEnergy(EnergyComponent.Cpu, 7200, EnergyOrigin.Estimated, "cpu-time model 42.5 W/thread"),
        new ComponentEnergy(EnergyComponent.Gpu, 0, EnergyOrigin.None, "no GPU in use"),
        new ComponentEnergy(EnergyComponent.Ram, 360, EnergyOrigin.Estimated, "resident-memory model 0.375 W/GiB"),
        CarbonFactors.Resolve("POL", null, 1.5),
        2);

    [Fact]
    public void Header_equals_codecarbons() =>
        string.Join(",", EmissionsCsvWriter.Columns).ShouldBe(CodeCarbonHeader);

    [Fact]
    public void Rows_are_appended_under_one_header_with_codecarbon_units()
    {
        var writer = new EmissionsCsvWriter(Path.Combine(_dir.Root, "out", "emissions.csv"));
        var run = new RunIdentity("greenseg", "run-1", "exp-a");
        writer.Append(Measurement("epoch-1"), run, _machine);
        writer.Append(Measurement("run"), run, _machine);

        string[] lines = File.ReadAllLines(writer.Path);
        lines.Length.ShouldBe(3);
        lines[0].ShouldBe(CodeCarbonHeader);
        var row = Columns(lines[2]);
        row.Count.ShouldBe(38);
        row["timestamp"].ShouldBe("2025-01-02T03:05:45");
        row["duration"].ShouldBe("100");
        // 7560 J = 0.0021 kWh IT energy; CodeCarbon's energy columns include the PUE: × 1.5.
        double.Parse(row["energy_consumed"], CultureInfo.InvariantCulture).ShouldBe(0.00315, 1e-15);
        double.Parse(row["cpu_energy"], CultureInfo.InvariantCulture).ShouldBe(0.003, 1e-15);
        double.Parse(row["ram_energy"], CultureInfo.InvariantCulture).ShouldBe(0.00015, 1e-15);
        // 0.0021 kWh × 1.5 × 662 g = 2.0853 g = 0.0020853 kg; per second over 100 s.
        double.Parse(row["emissions"], CultureInfo.InvariantCulture).ShouldBe(0.0020853, 1e-12);
        double.Parse(row["emissions_rate"], CultureInfo.InvariantCulture).ShouldBe(0.000020853, 1e-14);
        row["cpu_power"].ShouldBe("72");
        row["ram_power"].ShouldBe("3.6");
        row["gpu_power"].ShouldBe("0");
        row["cpu_utilization_percent"].ShouldBe("0.5");   // 2 CPU-s / (100 s × 4 CPUs)
        (row["country_name"], row["country_iso_code"], row["pue"], row["tracking_mode"]).ShouldBe(("Poland", "POL", "1.5", "process"));
        row["cpu_model"].ShouldBe("Intel(R) Xeon(R) Gold 6248, 2.5GHz");
        (row["project_name"], row["run_id"], row["experiment_id"]).ShouldBe(("greenseg", "run-1", "exp-a"));
        row["codecarbon_version"].ShouldStartWith("greenseg-");
        row["gpu_count"].ShouldBe("");
    }

    [Fact]
    public void Provenance_labels_every_component_of_every_row()
    {
        var writer = new EmissionsCsvWriter(Path.Combine(_dir.Root, "emissions.csv"));
        writer.Append(Measurement(), new RunIdentity("p", "r", ""), _machine);

        string[] lines = File.ReadAllLines(writer.ProvenancePath);
        lines[0].ShouldBe(string.Join(",", EmissionsCsvWriter.ProvenanceColumns));
        lines.Skip(1).Select(l => l.Split(',')[4] + "=" + l.Split(',')[5]).ShouldBe(["cpu=estimated", "gpu=none", "ram=estimated"]);
    }

    [Fact]
    public void A_file_with_another_header_is_not_touched()
    {
        string path = _dir.Write("emissions.csv", "timestamp,project_name,duration\nx,y,1\n");
        var writer = new EmissionsCsvWriter(path);

        Should.Throw<InvalidInputException>(() => writer.Append(Measurement(), new RunIdentity("p", "r", ""), _machine))
            .Path.ShouldBe(path);
        File.ReadAllText(path).ShouldBe("timestamp,project_name,duration\nx,y,1\n");
    }

    /// <summary>Parses one CSV line (quoted fields allowed) into column → value.</summary>
    private static Dictionary<string, string> Columns(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return EmissionsCsvWriter.Columns.Zip(fields).ToDictionary(p => p.First, p => p.Second);
    }
}
