using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class RaplTests : IDisposable
{
    private readonly FakeTree _sys = new();

    public void Dispose() => _sys.Dispose();

    [Fact]
    public void Scan_classifies_packages_dram_and_ignores_core_psys_and_mmio()
    {
        _sys.RaplZone("intel-rapl:0", "package-0", 100);
        _sys.RaplZone("intel-rapl:0:0", "core", 10);
        _sys.RaplZone("intel-rapl:0:1", "dram", 20);
        _sys.RaplZone("intel-rapl:1", "psys", 30);
        _sys.RaplZone("intel-rapl-mmio:0", "package-0", 100);
        Directory.CreateDirectory(Path.Combine(_sys.Root, "intel-rapl")); // the control-type directory itself

        var scan = RaplScan.Scan(_sys.Root);

        scan.ZonesOf(RaplZoneKind.Package).Select(z => z.Name).ShouldBe(["package-0"]);
        scan.ZonesOf(RaplZoneKind.Dram).Select(z => z.Id).ShouldBe(["intel-rapl:0:1"]);
        scan.ZonesOf(RaplZoneKind.Other).Select(z => z.Name).ShouldBe(["core", "psys"], ignoreOrder: true);
        scan.Diagnostics.ShouldContain(d => d.Contains("intel-rapl-mmio:0") && d.Contains("skipped"));
        scan.AllUsable(RaplZoneKind.Package).ShouldNotBeNull();
    }

    [Fact]
    public void Counter_deltas_sum_packages_and_handle_a_wrap_around()
    {
        _sys.RaplZone("intel-rapl:0", "package-0", 1_000, maxRangeUj: 10_000);
        _sys.RaplZone("intel-rapl:1", "package-1", 50_000, maxRangeUj: 1_000_000);
        var scan = RaplScan.Scan(_sys.Root);
        using var source = new RaplCounterSource(scan.AllUsable(RaplZoneKind.Package)!, EnergyComponent.Cpu);
        source.Name.ShouldBe("rapl package-0+package-1");

        _sys.RaplZone("intel-rapl:0", "package-0", 5_000, maxRangeUj: 10_000);
        _sys.RaplZone("intel-rapl:1", "package-1", 51_000, maxRangeUj: 1_000_000);
        source.ReadJoules().ShouldBe((4_000 + 1_000) * 1e-6, 1e-12);

        // package-0 passes its 10 000 µJ range: 5 000 → 10 000 → 0 → 200 is 5 200 µJ.
        _sys.RaplZone("intel-rapl:0", "package-0", 200, maxRangeUj: 10_000);
        _sys.RaplZone("intel-rapl:1", "package-1", 52_500, maxRangeUj: 1_000_000);
        source.ReadJoules().ShouldBe((4_000 + 5_200 + 1_000 + 1_500) * 1e-6, 1e-12);
        source.Diagnostics.ShouldBeEmpty();
    }

    [Theory]
    [InlineData(100ul, 400ul, 1000ul, 300ul)]   // plain increase
    [InlineData(900ul, 100ul, 1000ul, 200ul)]   // one wrap at the range
    [InlineData(5000ul, 100ul, 1000ul, 100ul)]  // previous above the range: a driver reset, count from zero
    public void Delta_of_two_counter_values(ulong previous, ulong now, ulong range, ulong expected) =>
        RaplCounterSource.Delta(previous, now, range).ShouldBe(expected);

    [Fact]
    public void Missing_counter_file_is_a_diagnostic_not_an_error()
    {
        _sys.RaplZone("intel-rapl:0", "package-0", energyUj: null);

        var scan = RaplScan.Scan(_sys.Root);

        scan.ZonesOf(RaplZoneKind.Package).Single().Usable.ShouldBeFalse();
        scan.AllUsable(RaplZoneKind.Package).ShouldBeNull();
        scan.Diagnostics.ShouldContain(d => d.EndsWith("intel-rapl:0/energy_uj: missing"));
    }

    [Fact]
    public void Directory_where_the_counter_file_should_be_reads_as_unreadable()
    {
        // A real "cannot read" case even as root (chmod 000 does not stop root).
        _sys.RaplZone("intel-rapl:0", "package-0", energyUj: null);
        Directory.CreateDirectory(Path.Combine(_sys.Root, "intel-rapl:0", "energy_uj"));

        var scan = RaplScan.Scan(_sys.Root);

        scan.AllUsable(RaplZoneKind.Package).ShouldBeNull();
        scan.Diagnostics.ShouldContain(d => d.Contains("energy_uj: not readable") && d.Contains("root only"));
    }

    [Fact]
    public void Permission_denied_through_the_injected_reader_is_reported_and_blocks_a_partial_sum()
    {
        // Two sockets, the second one's counter root-only (as since Linux 5.10): summing only the
        // first would report half the machine, so the package set is not usable at all.
        _sys.RaplZone("intel-rapl:0", "package-0", 100);
        _sys.RaplZone("intel-rapl:1", "package-1", 100);
        string denied = Path.Combine(_sys.Root, "intel-rapl:1", "energy_uj");
        string Reader(string path) => path == denied ? throw new UnauthorizedAccessException("denied") : File.ReadAllText(path);

        var scan = RaplScan.Scan(_sys.Root, Reader);

        scan.ZonesOf(RaplZoneKind.Package).Count.ShouldBe(2);
        scan.AllUsable(RaplZoneKind.Package).ShouldBeNull();
        scan.Diagnostics.ShouldHaveSingleItem().ShouldContain("intel-rapl:1/energy_uj: not readable");
    }

    [Fact]
    public void Missing_range_file_makes_the_zone_unusable()
    {
        _sys.RaplZone("intel-rapl:0", "package-0", 100, maxRangeUj: null);

        var scan = RaplScan.Scan(_sys.Root);

        scan.AllUsable(RaplZoneKind.Package).ShouldBeNull();
        scan.Diagnostics.ShouldContain(d => d.Contains("max_energy_range_uj: missing"));
    }

    [Fact]
    public void Missing_powercap_root_is_reported()
    {
        var scan = RaplScan.Scan(Path.Combine(_sys.Root, "absent"));

        scan.RootExists.ShouldBeFalse();
        scan.Zones.ShouldBeEmpty();
        scan.Diagnostics.ShouldHaveSingleItem().ShouldContain("missing");
    }

    [Fact]
    public void A_read_failing_mid_run_keeps_the_last_value()
    {
        _sys.RaplZone("intel-rapl:0", "package-0", 1_000);
        using var source = new RaplCounterSource(RaplScan.Scan(_sys.Root).AllUsable(RaplZoneKind.Package)!, EnergyComponent.Cpu);
        File.Delete(Path.Combine(_sys.Root, "intel-rapl:0", "energy_uj"));

        source.ReadJoules().ShouldBe(0);
        source.Diagnostics.ShouldHaveSingleItem().ShouldContain("missing");

        _sys.RaplZone("intel-rapl:0", "package-0", 3_000);
        source.ReadJoules().ShouldBe(2_000 * 1e-6, 1e-12);
    }
}
