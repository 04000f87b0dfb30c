using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class ProcessCountersTests : IDisposable
{
    private readonly FakeTree _proc = new();

    public void Dispose() => _proc.Dispose();

    [Fact]
    public void Cpu_time_is_utime_plus_stime_in_clock_ticks_even_with_parentheses_in_the_command_name()
    {
        // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        _proc.Write("self/stat", "4242 (my (odd) cmd) R 1 4242 4242 0 -1 4194560 500 0 0 0 1234 566 0 0 20 0 8 0 100 0 0\n");
        var counters = new ProcSelfCounters(_proc.Root, clockTicksPerSecond: 100);

        counters.ProcessCpuSeconds().ShouldBe(18.0, 1e-12);
    }

    [Fact]
    public void Resident_memory_is_statm_field_two_times_page_size()
    {
        _proc.Write("self/statm", "123456 2048 512 100 0 4000 0\n");
        var counters = new ProcSelfCounters(_proc.Root, clockTicksPerSecond: 100, pageSizeBytes: 4096);

        counters.ResidentBytes().ShouldBe(2048L * 4096);
    }

    [Fact]
    public void Unreadable_proc_is_reported_not_thrown()
    {
        var counters = new ProcSelfCounters(_proc.Root, clockTicksPerSecond: 100);

        counters.IsReadable(out string problem).ShouldBeFalse();
        problem.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public void Real_proc_self_is_readable_on_linux()
    {
        if (!OperatingSystem.IsLinux()) return;
        var counters = new ProcSelfCounters();
        counters.IsReadable(out _).ShouldBeTrue();
        counters.ClockTicksPerSecond.ShouldBeGreaterThan(0);
        counters.ResidentBytes().ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Cpuinfo_gives_the_first_model_name_and_the_logical_cpu_count()
    {
        _proc.Write("cpuinfo", """
            processor	: 0
            vendor_id	: AuthenticAMD
            model name	: AMD EPYC 7763 64-Core Processor

            processor	: 1
            vendor_id	: AuthenticAMD
            model name	: AMD EPYC 7763 64-Core Processor

            processor	: 2
            model name	: AMD EPYC 7763 64-Core Processor
            """);

        CpuInfo.Read(_proc.Root).ShouldBe(new CpuInfo("AMD EPYC 7763 64-Core Processor", 3));
    }
}
