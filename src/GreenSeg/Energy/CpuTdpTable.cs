namespace GreenSeg.Energy;

/// <summary>A CPU model's rated power and the hardware threads of one package sharing it.</summary>
public sealed record CpuTdpEntry(string Key, double TdpWatts, int Threads);

/// <summary>
/// Rated power (TDP; "Processor Base Power" for Intel Core 12th gen and later) of common CPUs, keyed by
/// the words that identify the model in /proc/cpuinfo "model name". Threads are per package, so
/// TDP / Threads is the power of one fully busy hardware thread. Values transcribed from the vendors'
/// specification pages:
///   AMD: amd.com/en/products/specifications/processors (EPYC 7001/7002/7003/9004/9005, Ryzen, Threadripper),
///   Intel: ark.intel.com (Xeon E5 v3/v4, Xeon Scalable 1st–5th gen, Core).
/// Cloud-only SKUs (e.g. EPYC 7B13, Xeon 8259CL) have no public TDP and are left out on purpose:
/// give --cpu-tdp for them.
/// </summary>
public static class CpuTdpTable
{
    public static IReadOnlyList<CpuTdpEntry> Entries { get; } =
    [
        // AMD EPYC 7001 "Naples"
        new("EPYC 7601", 180, 64), new("EPYC 7551", 180, 64), new("EPYC 7451", 180, 48),
        // AMD EPYC 7002 "Rome"
        new("EPYC 7H12", 280, 128), new("EPYC 7742", 225, 128), new("EPYC 7702", 200, 128), new("EPYC 7662", 225, 128),
        new("EPYC 7642", 225, 96), new("EPYC 7552", 200, 96), new("EPYC 7542", 225, 64), new("EPYC 7502", 180, 64),
        new("EPYC 7452", 155, 64), new("EPYC 7402", 180, 48), new("EPYC 7352", 155, 48), new("EPYC 7302", 155, 32),
        new("EPYC 7282", 120, 32),
        // AMD EPYC 7003 "Milan"
        new("EPYC 7773X", 280, 128), new("EPYC 7763", 280, 128), new("EPYC 7713", 225, 128), new("EPYC 7663", 240, 112),
        new("EPYC 7643", 225, 96), new("EPYC 7543", 225, 64), new("EPYC 7513", 200, 64), new("EPYC 7453", 225, 56),
        new("EPYC 7443", 200, 48), new("EPYC 7413", 180, 48), new("EPYC 7343", 190, 32), new("EPYC 7313", 155, 32),
        // AMD EPYC 9004 "Genoa" / "Bergamo"
        new("EPYC 9754", 360, 256), new("EPYC 9654", 360, 192), new("EPYC 9634", 290, 168), new("EPYC 9554", 360, 128),
        new("EPYC 9534", 280, 128), new("EPYC 9454", 290, 96), new("EPYC 9354", 280, 64), new("EPYC 9334", 210, 64),
        new("EPYC 9254", 200, 48), new("EPYC 9124", 200, 32),
        // AMD EPYC 9005 "Turin"
        new("EPYC 9965", 500, 384), new("EPYC 9755", 500, 256), new("EPYC 9655", 400, 192), new("EPYC 9555", 360, 128),
        new("EPYC 9355", 280, 64),
        // AMD Ryzen desktop and Threadripper
        new("RYZEN 9 9950X", 170, 32), new("RYZEN 9 7950X", 170, 32), new("RYZEN 9 7900X", 170, 24), new("RYZEN 9 7900", 65, 24),
        new("RYZEN 7 7800X3D", 120, 16), new("RYZEN 7 7700X", 105, 16), new("RYZEN 5 7600X", 105, 12), new("RYZEN 5 7600", 65, 12),
        new("RYZEN 9 5950X", 105, 32), new("RYZEN 9 5900X", 105, 24), new("RYZEN 7 5800X3D", 105, 16), new("RYZEN 7 5800X", 105, 16),
        new("RYZEN 7 5700X", 65, 16), new("RYZEN 5 5600X", 65, 12), new("RYZEN 9 3950X", 105, 32), new("RYZEN 9 3900X", 105, 24),
        new("RYZEN 7 3700X", 65, 16), new("RYZEN 5 3600", 65, 12),
        new("THREADRIPPER 3990X", 280, 128), new("THREADRIPPER 3970X", 280, 64), new("THREADRIPPER PRO 5995WX", 280, 128),
        new("THREADRIPPER 7980X", 350, 128),
        // Intel Xeon E5 v3/v4
        new("E5-2680 V3", 120, 24), new("E5-2690 V3", 135, 24),
        new("E5-2699 V4", 145, 44), new("E5-2698 V4", 135, 40), new("E5-2690 V4", 135, 28), new("E5-2680 V4", 120, 28),
        new("E5-2660 V4", 105, 28), new("E5-2650 V4", 105, 24), new("E5-2630 V4", 85, 20), new("E5-2620 V4", 85, 16),
        // Intel Xeon Scalable 1st gen "Skylake-SP"
        new("PLATINUM 8180", 205, 56), new("PLATINUM 8168", 205, 48), new("PLATINUM 8160", 150, 48), new("GOLD 6148", 150, 40),
        new("GOLD 6140", 140, 36), new("GOLD 6130", 125, 32), new("GOLD 5118", 105, 24), new("SILVER 4116", 85, 24),
        new("SILVER 4114", 85, 20),
        // Intel Xeon Scalable 2nd gen "Cascade Lake"
        new("PLATINUM 8280", 205, 56), new("PLATINUM 8268", 205, 48), new("PLATINUM 8260", 165, 48), new("GOLD 6248R", 205, 48),
        new("GOLD 6248", 150, 40), new("GOLD 6240", 150, 36), new("GOLD 6230", 125, 40), new("GOLD 6226R", 150, 32),
        new("GOLD 5218", 125, 32), new("SILVER 4216", 100, 32), new("SILVER 4214", 85, 24), new("SILVER 4210", 85, 20),
        // Intel Xeon Scalable 3rd gen "Ice Lake-SP"
        new("PLATINUM 8380", 270, 80), new("PLATINUM 8360Y", 250, 72), new("PLATINUM 8358", 250, 64), new("GOLD 6348", 235, 56),
        new("GOLD 6342", 230, 48), new("GOLD 6338", 205, 64), new("GOLD 6330", 205, 56), new("SILVER 4316", 150, 40),
        new("SILVER 4314", 135, 32),
        // Intel Xeon Scalable 4th/5th gen "Sapphire Rapids" / "Emerald Rapids"
        new("PLATINUM 8480+", 350, 112), new("PLATINUM 8468", 350, 96), new("PLATINUM 8462Y+", 300, 64), new("GOLD 6448Y", 225, 64),
        new("GOLD 6430", 270, 64), new("GOLD 5418Y", 185, 48), new("SILVER 4410Y", 150, 24),
        new("PLATINUM 8592+", 350, 128), new("PLATINUM 8580", 350, 120), new("GOLD 6548Y+", 250, 64),
        // Intel Core desktop (12th gen and later: Processor Base Power)
        new("I9-14900K", 125, 32), new("I7-14700K", 125, 28), new("I9-13900K", 125, 32), new("I7-13700K", 125, 24),
        new("I5-13600K", 125, 20), new("I9-12900K", 125, 24), new("I7-12700K", 125, 20), new("I5-12600K", 125, 16),
        new("I5-12400", 65, 12), new("I9-11900K", 125, 16), new("I9-10900K", 125, 20), new("I7-10700K", 125, 16),
        new("I9-9900K", 95, 16), new("I7-9700K", 95, 8), new("I7-8700K", 95, 12), new("I7-8700", 65, 12), new("I7-7700K", 91, 8),
    ];

    /// <summary>The entry whose key appears as whole words in the model name ("6248" does not match "6248R").</summary>
    public static CpuTdpEntry? Find(string? modelName)
    {
        if (string.IsNullOrWhiteSpace(modelName)) return null;
        string normalized = " " + Normalize(modelName) + " ";
        return Entries.FirstOrDefault(e => normalized.Contains(" " + e.Key + " ", StringComparison.Ordinal));
    }

    private static string Normalize(string modelName)
    {
        string upper = modelName.ToUpperInvariant().Replace("(R)", " ").Replace("(TM)", " ");
        return string.Join(' ', upper.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
