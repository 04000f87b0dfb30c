using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

/// <summary>The real machine's plan, a short busy window, and the two CSV files it writes.</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly FakeTree _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_window_on_this_machine_is_written_to_emissions_csv_with_every_value_labelled()
    {
        using var plan = EnergyPlan.Create(new EnergyOptions { Country = "POL" });
        using var monitor = plan.StartMonitor();
        monitor.BeginWindow("run");
        double spin = 0;
        var until = DateTime.UtcNow.AddMilliseconds(100);
        while (DateTime.UtcNow < until) spin += Math.Sqrt(spin + 1);
        var m = monitor.EndWindow("run");
        var writer = new EmissionsCsvWriter(Path.Combine(_dir.Root, "emissions.csv"));
        writer.Append(m, RunIdentity.New("greenseg-test"), plan.Machine);

        m.TotalJoules.ShouldBeGreaterThan(0);
        File.ReadLines(writer.Path).First().ShouldBe(string.Join(",", EmissionsCsvWriter.Columns));
        var labels = File.ReadLines(writer.ProvenancePath).Skip(1).Select(l => l.Split(',')).ToDictionary(f => f[4], f => f[5]);
        foreach (var planned in plan.Components)
            labels[planned.Component.Label()].ShouldBe(planned.Origin.Label());
        if (!plan.Rapl.Zones.Any(z => z.Usable))
            labels["cpu"].ShouldBe("estimated");
    }
}
