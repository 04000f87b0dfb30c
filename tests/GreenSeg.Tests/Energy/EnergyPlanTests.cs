using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class EnergyPlanTests : IDisposable
{
    private readonly FakeTree _sys = new();
    private readonly FakeTree _proc = new();

    public EnergyPlanTests()
    {
        _proc.Write("self/stat", "1 (greenseg) R 0 1 1 0 -1 0 0 0 0 0 200 100 0 0 20 0 4 0 1 0 0\n");
        _proc.Write("self/statm", "1000 512 0 0 0 0 0\n");
        _proc.Write("cpuinfo", "processor\t: 0\nmodel name\t: AMD EPYC 7763 64-Core Processor\nprocessor\t: 1\n");
        _proc.Write("meminfo", "MemTotal:        8388608 kB\nMemFree:  1 kB\n");
    }

    public void Dispose()
    {
        _sys.Dispose();
        _proc.Dispose();
    }

    private MachinePaths Paths => new()
    {
        PowercapRoot = _sys.Root,
        ProcRoot = _proc.Root,
        NvmlLibrary = "libnvidia-ml-absent-for-test.so.1",
        ClockTicksPerSecond = 100,
    };

    [Fact]
    public void Without_counters_cpu_and_ram_are_estimated_and_say_why()
    {
        using var plan = EnergyPlan.Create(new EnergyOptions { Country = "POL" }, Paths);

        var cpu = plan.Components.Single(c => c.Component == EnergyComponent.Cpu);
        cpu.Origin.ShouldBe(EnergyOrigin.Estimated);
        cpu.Reason.ShouldContain("no RAPL package counter");
        cpu.Reason.ShouldContain("2.188 W per busy thread");   // EPYC 7763: 280 W / 128 threads
        plan.Components.Single(c => c.Component == EnergyComponent.Ram).Origin.ShouldBe(EnergyOrigin.Estimated);
        plan.ProcStatus.ShouldContain("readable");
        plan.Machine.ShouldBe(plan.Machine with { CpuModel = "AMD EPYC 7763 64-Core Processor", LogicalCpus = 2, RamTotalGiB = 8, GpuCount = 0 });
        plan.Carbon.GramsPerKilowattHour.ShouldBe(662);
    }

    [Fact]
    public void Readable_rapl_counters_are_measured_for_cpu_and_ram()
    {
        _sys.RaplZone("intel-rapl:0", "package-0", 1_000_000);
        _sys.RaplZone("intel-rapl:0:0", "dram", 500_000);
        using var plan = EnergyPlan.Create(new EnergyOptions(), Paths);
        using var monitor = plan.StartMonitor(options: new EnergyMonitorOptions { BackgroundSampling = false });
        monitor.BeginWindow("w");
        _sys.RaplZone("intel-rapl:0", "package-0", 3_000_000);
        _sys.RaplZone("intel-rapl:0:0", "dram", 700_000);
        var m = monitor.EndWindow("w");

        m.Cpu.ShouldBe(new ComponentEnergy(EnergyComponent.Cpu, 2.0, EnergyOrigin.Measured, "rapl package-0"));
        m.Ram.Joules.ShouldBe(0.2, 1e-9);
        (m.Ram.Origin, m.Ram.Source).ShouldBe((EnergyOrigin.Measured, "rapl dram(intel-rapl:0:0)"));
        m.AnyEstimated.ShouldBeFalse();
        m.ProcessCpuSeconds.ShouldBe(0);
    }

    [Fact]
    public void Readable_package_with_unreadable_dram_mixes_measured_cpu_and_estimated_ram()
    {
        _sys.RaplZone("intel-rapl:0", "package-0", 10);
        _sys.RaplZone("intel-rapl:0:0", "dram", energyUj: null);
        using var plan = EnergyPlan.Create(new EnergyOptions(), Paths);

        plan.Components.Single(c => c.Component == EnergyComponent.Cpu).Origin.ShouldBe(EnergyOrigin.Measured);
        var ram = plan.Components.Single(c => c.Component == EnergyComponent.Ram);
        ram.Origin.ShouldBe(EnergyOrigin.Estimated);
        ram.Reason.ShouldContain("a RAPL DRAM counter is not readable");
    }

    [Fact]
    public void A_monitor_takes_the_plans_sources_once()
    {
        using var plan = EnergyPlan.Create(new EnergyOptions(), Paths);
        using var monitor = plan.StartMonitor(options: new EnergyMonitorOptions { BackgroundSampling = false });
        Should.Throw<InvalidOperationException>(() => plan.StartMonitor());
    }
}
