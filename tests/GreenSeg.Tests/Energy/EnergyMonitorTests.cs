using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class EnergyMonitorTests
{
    private static readonly CarbonFactors Poland = CarbonFactors.Resolve("POL", null, 1.0);

    private readonly ManualTimeProvider _clock = new();
    private readonly ManualProcessCounters _process = new() { CpuSeconds = 100, Resident = 1L << 30 };

    /// <summary>CPU model at 10 W per busy thread, RAM model at 0.375 W/GiB, no background thread.</summary>
    private EnergyMonitor NewMonitor() => new(
        [
            new CpuTimeEnergySource(_process, new CpuPowerModel("test", 40, 4, "test")),
            new ResidentMemoryEnergySource(_process, _clock),
        ],
        Poland, _process, _clock, new EnergyMonitorOptions { BackgroundSampling = false });

    [Fact]
    public void Nested_and_overlapping_windows_each_get_their_own_energy()
    {
        using var monitor = NewMonitor();
        monitor.BeginWindow("run");
        _clock.AdvanceSeconds(10);
        _process.CpuSeconds += 5;                        // 50 J CPU, RAM 1 GiB × 0.375 W × 10 s = 3.75 J
        monitor.BeginWindow("epoch-1");
        _clock.AdvanceSeconds(20);
        _process.CpuSeconds += 8;                        // 80 J, RAM 7.5 J
        monitor.BeginWindow("inference");                // overlaps epoch-1's end
        _clock.AdvanceSeconds(4);
        _process.CpuSeconds += 1;                        // 10 J, RAM 1.5 J
        var epoch = monitor.EndWindow("epoch-1");
        _clock.AdvanceSeconds(6);
        _process.CpuSeconds += 2;                        // 20 J, RAM 2.25 J
        var inference = monitor.EndWindow("inference");
        var run = monitor.EndWindow("run");

        epoch.Duration.ShouldBe(TimeSpan.FromSeconds(24));
        epoch.Cpu.Joules.ShouldBe(90, 1e-9);
        epoch.Ram.Joules.ShouldBe(9.0, 1e-9);
        inference.Cpu.Joules.ShouldBe(30, 1e-9);
        inference.Ram.Joules.ShouldBe(3.75, 1e-9);
        run.Cpu.Joules.ShouldBe(160, 1e-9);
        run.Ram.Joules.ShouldBe(15.0, 1e-9);
        run.TotalJoules.ShouldBe(175, 1e-9);
        run.ProcessCpuSeconds.ShouldBe(16);
        run.Start.ShouldBe(new ManualTimeProvider().GetUtcNow());
        monitor.OpenWindows.ShouldBeEmpty();
    }

    [Fact]
    public void Every_component_says_how_it_was_obtained()
    {
        using var monitor = NewMonitor();
        monitor.BeginWindow("w");
        var m = monitor.EndWindow("w");

        m.Cpu.Origin.ShouldBe(EnergyOrigin.Estimated);
        m.Cpu.Source.ShouldStartWith("cpu-time model");
        m.Ram.Origin.ShouldBe(EnergyOrigin.Estimated);
        m.Ram.Source.ShouldStartWith("resident-memory model");
        m.Gpu.ShouldBe(new ComponentEnergy(EnergyComponent.Gpu, 0, EnergyOrigin.None, "no GPU in use"));
        m.AnyEstimated.ShouldBeTrue();
    }

    [Fact]
    public void Co2eq_is_kwh_times_pue_times_intensity()
    {
        // 3.6 MJ = 1 kWh; at 662 g/kWh and PUE 1.5 that is 993 g.
        var carbon = CarbonFactors.Resolve("POL", null, 1.5);
        using var monitor = new EnergyMonitor([new CpuTimeEnergySource(_process, new CpuPowerModel("t", 1000, 1, "t"))],
            carbon, _process, _clock, new EnergyMonitorOptions { BackgroundSampling = false });
        monitor.BeginWindow("w");
        _process.CpuSeconds += 3600;                     // 3600 s × 1000 W = 3.6 MJ
        var m = monitor.EndWindow("w");

        m.TotalJoules.ShouldBe(3.6e6, 1e-6);
        m.KilowattHours.ShouldBe(1.0, 1e-12);
        m.Co2eqGrams.ShouldBe(993.0, 1e-9);
    }

    [Fact]
    public void Peek_reads_an_open_window_without_closing_it()
    {
        using var monitor = NewMonitor();
        monitor.BeginWindow("run");
        _process.CpuSeconds += 1;
        monitor.Peek("run").Cpu.Joules.ShouldBe(10, 1e-9);
        _process.CpuSeconds += 1;
        monitor.EndWindow("run").Cpu.Joules.ShouldBe(20, 1e-9);
    }

    [Fact]
    public void Window_misuse_is_an_error()
    {
        using var monitor = NewMonitor();
        monitor.BeginWindow("a");
        Should.Throw<InvalidOperationException>(() => monitor.BeginWindow("a"));
        Should.Throw<InvalidOperationException>(() => monitor.EndWindow("b"));
        monitor.EndWindow("a");
        Should.Throw<InvalidOperationException>(() => monitor.EndWindow("a"));
    }

    [Fact]
    public void Poll_reads_only_sources_that_need_it()
    {
        var polled = new CountingSource(TimeSpan.FromSeconds(1));
        var exact = new CountingSource(null);
        using var monitor = new EnergyMonitor([polled, exact], Poland, options: new EnergyMonitorOptions { BackgroundSampling = false });
        monitor.Poll();
        monitor.Poll();
        polled.Reads.ShouldBe(2);
        exact.Reads.ShouldBe(0);
        monitor.Sampler.Running.ShouldBeFalse();
    }

    [Fact]
    public void Background_sampler_polls_and_stops_on_dispose()
    {
        var source = new CountingSource(TimeSpan.FromMilliseconds(5));
        var monitor = new EnergyMonitor([source], Poland);
        source.ThirdRead.Wait(TimeSpan.FromSeconds(30)).ShouldBeTrue();
        monitor.Sampler.Running.ShouldBeTrue();
        monitor.Sampler.Interval.ShouldBe(TimeSpan.FromMilliseconds(5));

        monitor.Dispose();
        int reads = source.Reads;
        monitor.Sampler.Running.ShouldBeFalse();
        source.Disposed.ShouldBeTrue();
        Should.Throw<ObjectDisposedException>(() => monitor.BeginWindow("late"));
        source.Reads.ShouldBe(reads);
    }

    [Fact]
    public void A_source_failing_in_the_sampler_is_recorded_and_sampling_goes_on()
    {
        var failing = new CountingSource(TimeSpan.FromMilliseconds(5)) { FailWith = new IOException("counter vanished") };
        using var monitor = new EnergyMonitor([failing], Poland);
        failing.ThirdRead.Wait(TimeSpan.FromSeconds(30)).ShouldBeTrue();

        monitor.SamplerErrors.ShouldContain("IOException: counter vanished");
        monitor.Sampler.Running.ShouldBeTrue();
    }

    [Fact]
    public void No_sampler_thread_when_no_source_needs_one()
    {
        using var monitor = new EnergyMonitor([new CountingSource(null)], Poland);
        monitor.Sampler.Running.ShouldBeFalse();
    }

    [Fact]
    public void Concurrent_windows_from_many_threads_are_safe()
    {
        var source = new CountingSource(TimeSpan.FromMilliseconds(1));
        using var monitor = new EnergyMonitor([source], Poland);
        Parallel.For(0, 64, i =>
        {
            monitor.BeginWindow($"w{i}");
            monitor.Peek($"w{i}");
            monitor.EndWindow($"w{i}").Cpu.Joules.ShouldBeGreaterThanOrEqualTo(0);
        });
        monitor.OpenWindows.ShouldBeEmpty();
    }

    /// <summary>A source counting its reads; one joule per read.</summary>
    private sealed class CountingSource(TimeSpan? pollInterval) : IEnergySource
    {
        private int _reads;
        public ManualResetEventSlim ThirdRead { get; } = new(false);
        public int Reads => Volatile.Read(ref _reads);
        public bool Disposed { get; private set; }
        public EnergyComponent Component => EnergyComponent.Cpu;
        public EnergyOrigin Origin => EnergyOrigin.Measured;
        public string Name => "counting";
        public TimeSpan? PollInterval => pollInterval;
        public Exception? FailWith { get; init; }

        public double ReadJoules()
        {
            int reads = Interlocked.Increment(ref _reads);
            if (reads >= 3) ThirdRead.Set();
            return FailWith is null ? reads : throw FailWith;
        }

        public void Dispose() => Disposed = true;
    }
}
