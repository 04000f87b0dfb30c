using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace GreenSeg.Energy;

/// <summary>CPU time used by this process so far (user + system, all threads).</summary>
public interface ICpuTimeReader
{
    double ProcessCpuSeconds();
}

/// <summary>Resident memory of this process now.</summary>
public interface IResidentMemoryReader
{
    long ResidentBytes();
}

/// <summary>
/// This process's counters from /proc/self: CPU time from stat (utime + stime, fields 14 and 15, in
/// clock ticks) and resident memory from statm (field 2, in pages). The /proc root is a parameter
/// so tests read a fake tree.
/// </summary>
public sealed class ProcSelfCounters : ICpuTimeReader, IResidentMemoryReader
{
    public const string DefaultRoot = "/proc";

    private readonly string _statPath;
    private readonly string _statmPath;
    private readonly Func<string, string> _reader;

    public ProcSelfCounters(string procRoot = DefaultRoot, long? clockTicksPerSecond = null, long? pageSizeBytes = null,
        Func<string, string>? reader = null)
    {
        _statPath = Path.Combine(procRoot, "self", "stat");
        _statmPath = Path.Combine(procRoot, "self", "statm");
        _reader = reader ?? SystemFiles.DefaultReader;
        ClockTicksPerSecond = clockTicksPerSecond ?? LinuxNative.ClockTicksPerSecond();
        PageSizeBytes = pageSizeBytes ?? Environment.SystemPageSize;
    }

    public long ClockTicksPerSecond { get; }
    public long PageSizeBytes { get; }

    /// <summary>Whether both files read and parse; with the reason when not.</summary>
    public bool IsReadable(out string problem)
    {
        try
        {
            ProcessCpuSeconds();
            ResidentBytes();
            problem = "";
            return true;
        }
        catch (IOException ex) { problem = ex.Message; }
        catch (UnauthorizedAccessException ex) { problem = ex.Message; }
        catch (FormatException ex) { problem = ex.Message; }
        return false;
    }

    public double ProcessCpuSeconds()
    {
        string stat = _reader(_statPath);
        // The command name (field 2) is in parentheses and may itself hold spaces or ')': split after the last ')'.
        int close = stat.LastIndexOf(')');
        if (close < 0) throw new FormatException($"{_statPath}: no ')' after the command name");
        string[] fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
        if (fields.Length < 13) throw new FormatException($"{_statPath}: {fields.Length + 2} fields, expected at least 15");
        long ticks = ParseLong(fields[11], _statPath) + ParseLong(fields[12], _statPath);
        return (double)ticks / ClockTicksPerSecond;
    }

    public long ResidentBytes()
    {
        string[] fields = _reader(_statmPath).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2) throw new FormatException($"{_statmPath}: expected at least 2 fields");
        return ParseLong(fields[1], _statmPath) * PageSizeBytes;
    }

    private static long ParseLong(string text, string path) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new FormatException($"{path}: '{text}' is not a count");
}

/// <summary>The same counters through .NET (for systems without /proc); coarser but portable.</summary>
public sealed class DotnetProcessCounters : ICpuTimeReader, IResidentMemoryReader
{
    public double ProcessCpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }

    public long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}

/// <summary>The two libc calls the energy code needs; both degrade gracefully off Linux.</summary>
public static class LinuxNative
{
    private const int ScClkTck = 2;               // _SC_CLK_TCK in glibc's <bits/confname.h>
    private const int ClockThreadCpuTimeId = 3;   // CLOCK_THREAD_CPUTIME_ID in <linux/time.h>

    /// <summary>Kernel clock ticks per second for /proc CPU times (USER_HZ, 100 on Linux).</summary>
    public static long ClockTicksPerSecond()
    {
        try
        {
            long ticks = sysconf(ScClkTck);
            return ticks > 0 ? ticks : 100;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    /// <summary>CPU time of the calling thread in seconds, or null where the clock is unavailable.</summary>
    public static double? CurrentThreadCpuSeconds()
    {
        try
        {
            return clock_gettime(ClockThreadCpuTimeId, out Timespec ts) == 0 ? ts.Seconds + ts.Nanoseconds * 1e-9 : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // C long is 64-bit on the linux-x64 target this project builds for.
    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long sysconf(int name);

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int clock_gettime(int clockId, out Timespec time);
}
