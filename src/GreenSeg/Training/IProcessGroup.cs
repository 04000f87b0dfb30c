using GreenSeg.Energy;

namespace GreenSeg.Training;

/// <summary>
/// The processes one data-parallel run trains in (ranks 0..Size-1), as the training engine needs them: who it is, and
/// the collective calls that keep every rank's decisions identical. Every rank must make the same calls in the same
/// order. Implemented over MPI by <c>GreenSeg.Distributed</c>; a run without one is a single process.
/// </summary>
public interface IProcessGroup
{
    int Rank { get; }
    int Size { get; }
    /// <summary>This rank is the lowest on its host: a node-wide meter (RAPL's package counter) is counted by it alone.</summary>
    bool FirstOnHost { get; }
    /// <summary>Each element summed over the ranks, in place, on every rank.</summary>
    void AllreduceSum(double[] values);
    /// <summary>Rank 0's values, in place, on every rank.</summary>
    void Broadcast(double[] values);
}

/// <summary>What the engine does with a process group: rank 0 alone writes; figures summed or taken from rank 0.</summary>
public static class ProcessGroups
{
    public static bool IsRoot(this IProcessGroup? group) => group is null || group.Rank == 0;

    /// <summary>Rank 0's value on every rank (a finder's result: it runs on rank 0 only).</summary>
    public static double FromRoot(this IProcessGroup? group, Func<double>? onRoot)
    {
        double[] value = [group.IsRoot() ? onRoot!() : 0];
        group?.Broadcast(value);
        return value[0];
    }

    /// <summary>
    /// Every rank's energy summed into one measurement (its times are this rank's). A component measured by a node-wide
    /// hardware meter (RAPL) counts once per host, from the host's first rank; a per-process estimate counts for every rank.
    /// </summary>
    public static EnergyMeasurement SumEnergy(this IProcessGroup? group, EnergyMeasurement local)
    {
        if (group is null || group.Size == 1) return local;
        var components = local.Components;
        var values = new double[components.Count + 1];
        for (int i = 0; i < components.Count; i++)
            values[i] = components[i].Origin == EnergyOrigin.Measured && components[i].Component != EnergyComponent.Gpu && !group.FirstOnHost ? 0 : components[i].Joules;
        values[^1] = local.ProcessCpuSeconds ?? 0;
        group.AllreduceSum(values);
        return local with
        {
            Cpu = local.Cpu with { Joules = values[0] },
            Gpu = local.Gpu with { Joules = values[1] },
            Ram = local.Ram with { Joules = values[2] },
            ProcessCpuSeconds = local.ProcessCpuSeconds is null ? null : values[^1],
        };
    }
}
