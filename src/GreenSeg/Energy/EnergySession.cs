namespace GreenSeg.Energy;

/// <summary>
/// The energy accounting of one run (training, inference, a study run): the plan chosen for this
/// machine, its monitor, and the identity its emissions.csv rows carry.
/// </summary>
public sealed class EnergySession : IDisposable
{
    public EnergyPlan Plan { get; }
    public EnergyMonitor Monitor { get; }
    public RunIdentity Run { get; }

    private EnergySession(EnergyPlan plan, RunIdentity run)
    {
        Plan = plan;
        Run = run;
        Monitor = plan.StartMonitor();
    }

    public static EnergySession Start(EnergyOptions options, string experimentId) =>
        new(EnergyPlan.Create(options), RunIdentity.New("greenseg", experimentId));

    /// <summary>Appends a row to emissions.csv (CodeCarbon's columns) and its provenance file beside it.</summary>
    public void AppendEmissions(string path, EnergyMeasurement measurement) =>
        new EmissionsCsvWriter(path).Append(measurement, Run, Plan.Machine);

    public void Dispose()
    {
        Monitor.Dispose();
        Plan.Dispose();
    }
}
