using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class NvmlTests
{
    /// <summary>Scripted NVML devices: a queue of readings per device; "unsupported" where null.</summary>
    private sealed class ScriptedNvml(int count) : INvmlDevices
    {
        public Dictionary<int, Queue<ulong>> Energy { get; } = [];
        public Dictionary<int, Queue<uint>> Power { get; } = [];
        public bool Disposed { get; private set; }
        public int DeviceCount => count;
        public string DeviceName(int index) => $"Test GPU {index}";

        public bool TryGetTotalEnergyMillijoules(int index, out ulong millijoules, out string problem)
        {
            millijoules = 0;
            problem = "Not Supported";
            if (!Energy.TryGetValue(index, out var queue)) return false;
            millijoules = queue.Count > 1 ? queue.Dequeue() : queue.Peek();
            return true;
        }

        public bool TryGetPowerMilliwatts(int index, out uint milliwatts, out string problem)
        {
            milliwatts = 0;
            problem = "Not Supported";
            if (!Power.TryGetValue(index, out var queue)) return false;
            milliwatts = queue.Count > 1 ? queue.Dequeue() : queue.Peek();
            return true;
        }

        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void Absent_library_is_an_answer_not_an_exception()
    {
        var nvml = NvmlLibrary.TryOpen(out string problem, "libnvidia-ml-absent-for-test.so.1");

        nvml.ShouldBeNull();
        problem.ShouldContain("not found");
    }

    [Fact]
    public void Plan_with_gpus_asked_but_no_nvml_counts_no_gpu_energy_and_says_so()
    {
        using var sys = new FakeTree();
        using var plan = EnergyPlan.Create(new EnergyOptions { GpuIndices = [0] },
            new MachinePaths { PowercapRoot = sys.Root, NvmlLibrary = "libnvidia-ml-absent-for-test.so.1" });

        var gpu = plan.Components.Single(c => c.Component == EnergyComponent.Gpu);
        gpu.Origin.ShouldBe(EnergyOrigin.None);
        gpu.Reason.ShouldContain("NOT counted");
        plan.Sources.ShouldNotContain(s => s.Component == EnergyComponent.Gpu);
    }

    [Fact]
    public void Energy_counter_mode_reports_millijoule_deltas_and_needs_no_sampling()
    {
        var nvml = new ScriptedNvml(2);
        nvml.Energy[1] = new Queue<ulong>([1_000_000, 1_250_000, 1_600_000]);
        using var source = NvmlGpuSource.TryCreate(nvml, [1], new ManualTimeProvider(), out _)!;

        source.PollInterval.ShouldBeNull();
        source.ReadJoules().ShouldBe(250.0);
        source.ReadJoules().ShouldBe(600.0);
        source.Name.ShouldContain("gpu1 energy counter");
    }

    [Fact]
    public void Power_sampling_mode_integrates_board_power()
    {
        var nvml = new ScriptedNvml(1);
        nvml.Power[0] = new Queue<uint>([100_000, 300_000, 300_000]);   // 100 W, then 300 W
        var clock = new ManualTimeProvider();
        using var source = NvmlGpuSource.TryCreate(nvml, [0], clock, out _)!;

        source.PollInterval.ShouldBe(NvmlGpuSource.PowerSamplingInterval);
        clock.AdvanceSeconds(0.5);
        source.ReadJoules().ShouldBe((100 + 300) / 2.0 * 0.5, 1e-9);    // 100 J
        clock.AdvanceSeconds(1);
        source.ReadJoules().ShouldBe(100 + 300, 1e-9);
        source.Name.ShouldContain("power sampling");
    }

    [Fact]
    public void Absent_index_or_unreadable_gpu_gives_a_reason()
    {
        NvmlGpuSource.TryCreate(new ScriptedNvml(1), [3], null, out string absent).ShouldBeNull();
        absent.ShouldContain("GPU 3 is not present");

        NvmlGpuSource.TryCreate(new ScriptedNvml(1), [0], null, out string unreadable).ShouldBeNull();
        unreadable.ShouldContain("no energy counter");
    }

    [Fact]
    public void Disposing_the_source_shuts_nvml_down()
    {
        var nvml = new ScriptedNvml(1);
        nvml.Energy[0] = new Queue<ulong>([5]);
        NvmlGpuSource.TryCreate(nvml, [0], null, out _)!.Dispose();
        nvml.Disposed.ShouldBeTrue();
    }
}
