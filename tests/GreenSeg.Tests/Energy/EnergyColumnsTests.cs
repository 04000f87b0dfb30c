using GreenSeg.Cli.Commands;
using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class EnergyColumnsTests
{
    [Fact]
    public void Columns_give_joules_kilojoules_watt_hours_components_co2_and_origins()
    {
        var m = new EnergyMeasurement("epoch-1", DateTimeOffset.UnixEpoch, TimeSpan.FromSeconds(60),
            new ComponentEnergy(EnergyComponent.Cpu, 7000, EnergyOrigin.Estimated, "cpu"),
            new ComponentEnergy(EnergyComponent.Gpu, 0, EnergyOrigin.None, "no GPU in use"),
            new ComponentEnergy(EnergyComponent.Ram, 200, EnergyOrigin.Estimated, "ram"),
            CarbonFactors.Resolve("FRA", null, 1.0), 60);

        var columns = EnergyColumns.From(m);

        EnergyColumns.Headers("run_").ShouldBe(["run_energy_j", "run_energy_kj", "run_energy_wh", "run_cpu_j", "run_gpu_j", "run_ram_j", "run_co2eq_g", "run_energy_origin"]);
        // 7200 J = 7.2 kJ = 2 Wh; 2 Wh at 56 g/kWh = 0.112 g.
        columns.Values().ShouldBe(["7200.000", "7.200000", "2.000000", "7000.000", "0.000", "200.000", "0.112000", "cpu=estimated;gpu=none;ram=estimated"]);
    }

    [Fact]
    public void Energy_settings_map_to_options_and_validate()
    {
        var settings = new EnergySettings { CpuTdp = 65, Country = "POL", Pue = 1.1, Gpus = "0, 2" };
        settings.Validate().Successful.ShouldBeTrue();
        var options = settings.ToEnergyOptions();
        (options.CpuTdpWatts, options.Country, options.CarbonIntensity, options.Pue).ShouldBe((65.0, "POL", null, 1.1));
        options.GpuIndices.ShouldBe([0, 2]);

        new EnergySettings { Gpus = "a,b" }.Validate().Successful.ShouldBeFalse();
        new EnergySettings { Pue = 0.5 }.Validate().Successful.ShouldBeFalse();
        new EnergySettings { CpuTdp = 0 }.Validate().Successful.ShouldBeFalse();
    }
}
