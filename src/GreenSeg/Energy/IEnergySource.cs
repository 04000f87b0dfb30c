namespace GreenSeg.Energy;

/// <summary>
/// One place energy comes from (a RAPL counter set, one NVML GPU, a model). A source keeps a
/// cumulative joule count since it was created; windows are differences of two reads, so any
/// number of nested or overlapping windows cost nothing extra.
/// Sources are not thread-safe on their own: <see cref="EnergyMonitor"/> serialises every call.
/// </summary>
public interface IEnergySource : IDisposable
{
    EnergyComponent Component { get; }
    EnergyOrigin Origin { get; }

    /// <summary>Short name shown beside every value, e.g. "rapl package-0+package-1".</summary>
    string Name { get; }

    /// <summary>
    /// How often the source must be read between windows to stay correct (counter wrap tracking,
    /// power integration); null when a read at window boundaries is exact on its own.
    /// </summary>
    TimeSpan? PollInterval { get; }

    /// <summary>Reads the hardware/model now and returns joules since the source was created.</summary>
    double ReadJoules();
}
