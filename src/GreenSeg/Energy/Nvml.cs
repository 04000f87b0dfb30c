using System.Globalization;
using System.Runtime.InteropServices;

namespace GreenSeg.Energy;

/// <summary>The few NVML queries the GPU source needs, behind an interface so its logic is testable without a GPU.</summary>
public interface INvmlDevices : IDisposable
{
    int DeviceCount { get; }
    string DeviceName(int index);

    /// <summary>Energy since the driver loaded, in mJ (Volta and later).</summary>
    bool TryGetTotalEnergyMillijoules(int index, out ulong millijoules, out string problem);

    /// <summary>Current board power in mW.</summary>
    bool TryGetPowerMilliwatts(int index, out uint milliwatts, out string problem);
}

/// <summary>
/// NVML through P/Invoke of libnvidia-ml.so.1 (part of the NVIDIA driver, not of CUDA). Loaded with
/// <see cref="NativeLibrary"/> so a missing driver is an ordinary "unavailable" answer, never a
/// DllNotFoundException escaping into a training run.
/// </summary>
public sealed class NvmlLibrary : INvmlDevices
{
    public const string DefaultLibraryName = "libnvidia-ml.so.1";

    private const int Success = 0;
    private const int NameBufferSize = 96; // NVML_DEVICE_NAME_V2_BUFFER_SIZE

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int InitFn();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int ShutdownFn();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate IntPtr ErrorStringFn(int result);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetCountFn(out uint count);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetHandleByIndexFn(uint index, out IntPtr device);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetTotalEnergyFn(IntPtr device, out ulong millijoules);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetPowerUsageFn(IntPtr device, out uint milliwatts);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetNameFn(IntPtr device, byte[] name, uint length);

    private readonly IntPtr _library;
    private readonly ShutdownFn _shutdown;
    private readonly ErrorStringFn _errorString;
    private readonly GetTotalEnergyFn _totalEnergy;
    private readonly GetPowerUsageFn _powerUsage;
    private readonly GetNameFn _name;
    private readonly IntPtr[] _devices;
    private bool _disposed;

    private NvmlLibrary(IntPtr library, ShutdownFn shutdown, ErrorStringFn errorString, GetTotalEnergyFn totalEnergy,
        GetPowerUsageFn powerUsage, GetNameFn name, IntPtr[] devices)
    {
        _library = library;
        _shutdown = shutdown;
        _errorString = errorString;
        _totalEnergy = totalEnergy;
        _powerUsage = powerUsage;
        _name = name;
        _devices = devices;
    }

    public int DeviceCount => _devices.Length;

    /// <summary>Loads and initialises NVML; on any failure returns null and the reason.</summary>
    public static NvmlLibrary? TryOpen(out string problem, string libraryName = DefaultLibraryName)
    {
        if (!NativeLibrary.TryLoad(libraryName, out IntPtr library))
        {
            problem = $"{libraryName} not found (no NVIDIA driver on this machine)";
            return null;
        }
        try
        {
            var init = Export<InitFn>(library, "nvmlInit_v2");
            var shutdown = Export<ShutdownFn>(library, "nvmlShutdown");
            var errorString = Export<ErrorStringFn>(library, "nvmlErrorString");
            int result = init();
            if (result != Success)
            {
                problem = $"nvmlInit_v2 failed: {Describe(errorString, result)}";
                NativeLibrary.Free(library);
                return null;
            }
            var getCount = Export<GetCountFn>(library, "nvmlDeviceGetCount_v2");
            var getHandle = Export<GetHandleByIndexFn>(library, "nvmlDeviceGetHandleByIndex_v2");
            result = getCount(out uint count);
            var devices = new IntPtr[result == Success ? count : 0];
            for (uint i = 0; i < devices.Length && result == Success; i++) result = getHandle(i, out devices[i]);
            if (result != Success)
            {
                problem = $"listing GPUs failed: {Describe(errorString, result)}";
                shutdown();
                NativeLibrary.Free(library);
                return null;
            }
            problem = "";
            return new NvmlLibrary(library, shutdown, errorString,
                Export<GetTotalEnergyFn>(library, "nvmlDeviceGetTotalEnergyConsumption"),
                Export<GetPowerUsageFn>(library, "nvmlDeviceGetPowerUsage"),
                Export<GetNameFn>(library, "nvmlDeviceGetName"), devices);
        }
        catch (EntryPointNotFoundException ex)
        {
            problem = $"{libraryName} is too old: {ex.Message}";
            NativeLibrary.Free(library);
            return null;
        }
    }

    public string DeviceName(int index)
    {
        var buffer = new byte[NameBufferSize];
        return _name(_devices[index], buffer, NameBufferSize) == Success
            ? System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0)))
            : "NVIDIA GPU";
    }

    public bool TryGetTotalEnergyMillijoules(int index, out ulong millijoules, out string problem) =>
        Check(_totalEnergy(_devices[index], out millijoules), out problem);

    public bool TryGetPowerMilliwatts(int index, out uint milliwatts, out string problem) =>
        Check(_powerUsage(_devices[index], out milliwatts), out problem);

    private bool Check(int result, out string problem)
    {
        problem = result == Success ? "" : Describe(_errorString, result);
        return result == Success;
    }

    private static string Describe(ErrorStringFn errorString, int result) =>
        Marshal.PtrToStringUTF8(errorString(result)) ?? string.Create(CultureInfo.InvariantCulture, $"NVML error {result}");

    private static T Export<T>(IntPtr library, string name) where T : Delegate =>
        NativeLibrary.TryGetExport(library, name, out IntPtr address)
            ? Marshal.GetDelegateForFunctionPointer<T>(address)
            : throw new EntryPointNotFoundException($"{name} missing");

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _shutdown();
        NativeLibrary.Free(_library);
    }
}

/// <summary>
/// Energy of the GPUs this process uses (NVML indices), each read the best way it allows: the total-energy
/// counter where supported (exact at any read), otherwise board power sampled on the monitor's
/// background thread and integrated. Board-level: other processes on the same GPU are included.
/// </summary>
public sealed class NvmlGpuSource : IEnergySource
{
    public static readonly TimeSpan PowerSamplingInterval = TimeSpan.FromMilliseconds(100);

    private readonly INvmlDevices _nvml;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly Device[] _devices;

    private sealed class Device
    {
        public required int Index { get; init; }
        public ulong StartMillijoules { get; init; }
        public ulong LastMillijoules { get; set; }
        public PowerIntegrator? Power { get; init; }   // null when the energy counter is used
    }

    private NvmlGpuSource(INvmlDevices nvml, TimeProvider time, long start, Device[] devices, string name)
    {
        _nvml = nvml;
        _time = time;
        _start = start;
        _devices = devices;
        Name = name;
        PollInterval = devices.Any(d => d.Power is not null) ? PowerSamplingInterval : null;
    }

    public EnergyComponent Component => EnergyComponent.Gpu;
    public EnergyOrigin Origin => EnergyOrigin.Measured;
    public string Name { get; }
    public TimeSpan? PollInterval { get; }

    /// <summary>
    /// A source for the given GPU indices, taking ownership of <paramref name="nvml"/>; or null with the
    /// reason when an index is absent or a GPU reports neither energy nor power.
    /// </summary>
    public static NvmlGpuSource? TryCreate(INvmlDevices nvml, IReadOnlyList<int> indices, TimeProvider? time, out string problem)
    {
        time ??= TimeProvider.System;
        if (indices.Count == 0) { problem = "no GPU index given"; return null; }
        long start = time.GetTimestamp();
        var devices = new List<Device>();
        var names = new List<string>();
        foreach (int index in indices.Distinct())
        {
            if (index < 0 || index >= nvml.DeviceCount)
            {
                problem = $"GPU {index} is not present (NVML sees {nvml.DeviceCount} GPU(s))";
                return null;
            }
            if (nvml.TryGetTotalEnergyMillijoules(index, out ulong mj, out string counterProblem))
            {
                devices.Add(new Device { Index = index, StartMillijoules = mj, LastMillijoules = mj });
                names.Add($"gpu{index} energy counter");
            }
            else if (nvml.TryGetPowerMilliwatts(index, out uint mw, out string powerProblem))
            {
                devices.Add(new Device { Index = index, Power = new PowerIntegrator(0, mw / 1000.0) });
                names.Add($"gpu{index} power sampling (energy counter: {counterProblem})");
            }
            else
            {
                problem = $"GPU {index}: no energy counter ({counterProblem}) and no power reading ({powerProblem})";
                return null;
            }
        }
        problem = "";
        return new NvmlGpuSource(nvml, time, start, devices.ToArray(), "nvml " + string.Join(" + ", names));
    }

    public double ReadJoules()
    {
        double joules = 0;
        double seconds = _time.GetElapsedTime(_start).TotalSeconds;
        foreach (var device in _devices)
        {
            if (device.Power is null)
            {
                // A failed read keeps the last value; the next good one catches up.
                if (_nvml.TryGetTotalEnergyMillijoules(device.Index, out ulong mj, out _) && mj >= device.LastMillijoules)
                    device.LastMillijoules = mj;
                joules += (device.LastMillijoules - device.StartMillijoules) / 1000.0;
            }
            else
            {
                joules += _nvml.TryGetPowerMilliwatts(device.Index, out uint mw, out _)
                    ? device.Power.Add(seconds, mw / 1000.0)
                    : device.Power.Joules;
            }
        }
        return joules;
    }

    public void Dispose() => _nvml.Dispose();
}
