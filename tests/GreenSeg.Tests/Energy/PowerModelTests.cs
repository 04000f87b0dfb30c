using GreenSeg.Common;
using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class PowerModelTests
{
    [Theory]
    [InlineData("AMD EPYC 7763 64-Core Processor", "EPYC 7763")]
    [InlineData("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", "PLATINUM 8380")]
    [InlineData("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", "GOLD 6248R")]
    [InlineData("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "GOLD 6248")]
    [InlineData("Intel(R) Xeon(R) Platinum 8480+", "PLATINUM 8480+")]
    [InlineData("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "E5-2680 V4")]
    [InlineData("13th Gen Intel(R) Core(TM) i9-13900K", "I9-13900K")]
    [InlineData("AMD Ryzen 9 7950X 16-Core Processor", "RYZEN 9 7950X")]
    [InlineData("AMD Ryzen Threadripper PRO 5995WX 64-Cores", "THREADRIPPER PRO 5995WX")]
    public void Table_matches_model_names_as_whole_words(string modelName, string expectedKey) =>
        CpuTdpTable.Find(modelName)!.Key.ShouldBe(expectedKey);

    [Theory]
    [InlineData("AMD EPYC")]                                   // a VM hiding the model number
    [InlineData("Intel(R) Xeon(R) Gold 62480 CPU")]           // no partial-number match
    [InlineData("13th Gen Intel(R) Core(TM) i9-13900KS")]     // a different SKU
    [InlineData("")]
    public void Unknown_models_do_not_match(string modelName) => CpuTdpTable.Find(modelName).ShouldBeNull();

    [Fact]
    public void Table_keys_are_unique_and_values_plausible()
    {
        CpuTdpTable.Entries.Select(e => e.Key).ShouldBeUnique();
        CpuTdpTable.Entries.ShouldAllBe(e => e.TdpWatts >= 15 && e.TdpWatts <= 600 && e.Threads >= 4 && e.Threads <= 512);
    }

    [Fact]
    public void Known_cpu_uses_vendor_tdp_over_package_threads()
    {
        var model = CpuPowerModel.Resolve(new CpuInfo("AMD EPYC 7763 64-Core Processor", 2), null);

        model.TdpWatts.ShouldBe(280);
        model.Threads.ShouldBe(128);
        model.WattsPerThread.ShouldBe(2.1875);
    }

    [Fact]
    public void Unknown_cpu_uses_codecarbons_85_watts_over_visible_cpus()
    {
        var model = CpuPowerModel.Resolve(new CpuInfo("AMD EPYC", 2), null);

        model.TdpWatts.ShouldBe(85);
        model.WattsPerThread.ShouldBe(42.5);
        model.Basis.ShouldContain("CodeCarbon");
        model.Basis.ShouldContain("--cpu-tdp");
    }

    [Fact]
    public void Tdp_override_keeps_the_tables_thread_count_when_the_model_is_known()
    {
        CpuPowerModel.Resolve(new CpuInfo("AMD EPYC 7763 64-Core Processor", 2), 256).WattsPerThread.ShouldBe(2.0);
        CpuPowerModel.Resolve(new CpuInfo("AMD EPYC", 4), 10).WattsPerThread.ShouldBe(2.5);
        Should.Throw<GreenSegException>(() => CpuPowerModel.Resolve(new CpuInfo(null, 4), 0));
    }

    [Fact]
    public void Cpu_time_model_gives_exact_joules()
    {
        var counters = new ManualProcessCounters { CpuSeconds = 10 };
        using var source = new CpuTimeEnergySource(counters, new CpuPowerModel("test", 80, 16, "test"));

        source.ReadJoules().ShouldBe(0);
        counters.CpuSeconds = 13.5;   // 3.5 CPU-seconds at 5 W per busy thread
        source.ReadJoules().ShouldBe(17.5, 1e-9);
        source.Origin.ShouldBe(EnergyOrigin.Estimated);
        source.PollInterval.ShouldBeNull();
    }

    [Fact]
    public void Resident_memory_model_integrates_with_the_trapezoid_rule()
    {
        var clock = new ManualTimeProvider();
        var counters = new ManualProcessCounters { Resident = 2L << 30 };   // 2 GiB → 0.75 W
        using var source = new ResidentMemoryEnergySource(counters, clock);

        clock.AdvanceSeconds(10);
        counters.Resident = 4L << 30;                                      // 4 GiB → 1.5 W
        source.ReadJoules().ShouldBe((0.75 + 1.5) / 2 * 10, 1e-9);         // 11.25 J

        clock.AdvanceSeconds(4);                                            // flat at 1.5 W
        source.ReadJoules().ShouldBe(11.25 + 6, 1e-9);
        source.ReadJoules().ShouldBe(17.25, 1e-9);                          // no time passed, no energy
    }
}
