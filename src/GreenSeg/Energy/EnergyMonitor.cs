using System.Diagnostics;

namespace GreenSeg.Energy;

public sealed record EnergyMonitorOptions
{
    /// <summary>Run the background sampler where a source needs it; off in tests that call <see cref="EnergyMonitor.Poll"/>.</summary>
    public bool BackgroundSampling { get; init; } = true;

    /// <summary>Sampler period; null takes the shortest interval a source asks for (100 ms–1 s).</summary>
    public TimeSpan? SamplingInterval { get; init; }
}

/// <summary>What the background sampler has cost so far.</summary>
public sealed record SamplerStatistics(bool Running, TimeSpan Interval, long Polls, double CpuSeconds, bool CpuSecondsIsThreadClock);

/// <summary>
/// Named energy windows in the spirit of Zeus's monitor: BeginWindow("epoch-3") … EndWindow("epoch-3").
/// Windows nest and overlap freely: each stores a snapshot of every source's cumulative joules and a
/// window's energy is the difference. A background thread reads the sources only when one needs it
/// (RAPL wrap tracking, power integration). Thread-safe; disposing stops the sampler and the sources.
/// </summary>
public sealed class EnergyMonitor : IDisposable
{
    private readonly object _gate = new();
    private readonly IReadOnlyList<IEnergySource> _sources;
    private readonly ICpuTimeReader? _cpuTime;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Snapshot> _open = new(StringComparer.Ordinal);
    // No spinning before blocking: the sampler sleeps for its whole period, and spinning there would
    // be most of its CPU cost.
    private readonly ManualResetEventSlim _stop = new(false, spinCount: 0);
    private readonly Thread? _sampler;
    private readonly TimeSpan _interval;
    private readonly List<string> _samplerErrors = [];
    private long _polls;
    private double _samplerCpuSeconds;
    private bool _samplerUsesThreadClock;
    private bool _disposing;
    private bool _disposed;

    private sealed record Snapshot(DateTimeOffset Start, long Timestamp, double[] Joules, double? CpuSeconds);

    public EnergyMonitor(IEnumerable<IEnergySource> sources, CarbonFactors carbon, ICpuTimeReader? cpuTime = null,
        TimeProvider? time = null, EnergyMonitorOptions? options = null)
    {
        _sources = sources.ToList();
        Carbon = carbon;
        _cpuTime = cpuTime;
        _time = time ?? TimeProvider.System;
        options ??= new EnergyMonitorOptions();

        var wanted = _sources.Select(s => s.PollInterval).OfType<TimeSpan>().ToList();
        _interval = options.SamplingInterval ?? (wanted.Count > 0 ? wanted.Min() : TimeSpan.FromSeconds(1));
        if (_interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "sampling interval must be positive");
        if (options.BackgroundSampling && wanted.Count > 0)
        {
            _sampler = new Thread(SampleLoop) { IsBackground = true, Name = "greenseg-energy-sampler" };
            _sampler.Start();
        }
    }

    public CarbonFactors Carbon { get; }
    public IReadOnlyList<IEnergySource> Sources => _sources;

    public IReadOnlyList<string> OpenWindows
    {
        get { lock (_gate) return _open.Keys.ToList(); }
    }

    /// <summary>Sampler failures (a source that threw while sampling); the sampler keeps going.</summary>
    public IReadOnlyList<string> SamplerErrors
    {
        get { lock (_gate) return _samplerErrors.ToList(); }
    }

    public SamplerStatistics Sampler
    {
        get
        {
            lock (_gate)
                return new SamplerStatistics(_sampler is not null && !_stop.IsSet, _interval, _polls, _samplerCpuSeconds, _samplerUsesThreadClock);
        }
    }

    public void BeginWindow(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open.ContainsKey(name)) throw new InvalidOperationException($"energy window '{name}' is already open");
            _open[name] = TakeSnapshot();
        }
    }

    public EnergyMeasurement EndWindow(string name)
    {
        lock (_gate)
        {
            var measurement = Measure(name);
            _open.Remove(name);
            return measurement;
        }
    }

    /// <summary>The energy of an open window so far, leaving it open (for budgets checked mid-run).</summary>
    public EnergyMeasurement Peek(string name)
    {
        lock (_gate) return Measure(name);
    }

    /// <summary>
    /// Reads the sources that need periodic reads (counter wrap, power integration): what the
    /// background sampler does each period. Sources exact at any read are left alone.
    /// </summary>
    public void Poll()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var source in _sources)
                if (source.PollInterval is not null) source.ReadJoules();
            _polls++;
        }
    }

    private EnergyMeasurement Measure(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_open.TryGetValue(name, out var start)) throw new InvalidOperationException($"energy window '{name}' is not open");
        var end = TakeSnapshot();
        return new EnergyMeasurement(
            name,
            start.Start,
            _time.GetElapsedTime(start.Timestamp, end.Timestamp),
            Component(EnergyComponent.Cpu, start, end),
            Component(EnergyComponent.Gpu, start, end),
            Component(EnergyComponent.Ram, start, end),
            Carbon,
            end.CpuSeconds - start.CpuSeconds);
    }

    private ComponentEnergy Component(EnergyComponent component, Snapshot start, Snapshot end)
    {
        double joules = 0;
        var origins = new List<EnergyOrigin>();
        var names = new List<string>();
        for (int i = 0; i < _sources.Count; i++)
        {
            if (_sources[i].Component != component) continue;
            joules += end.Joules[i] - start.Joules[i];
            origins.Add(_sources[i].Origin);
            names.Add(_sources[i].Name);
        }
        if (origins.Count == 0)
            return new ComponentEnergy(component, 0, EnergyOrigin.None, component == EnergyComponent.Gpu ? "no GPU in use" : "not tracked");
        // One estimated part makes the sum an estimate.
        var origin = origins.All(o => o == EnergyOrigin.Measured) ? EnergyOrigin.Measured : EnergyOrigin.Estimated;
        return new ComponentEnergy(component, joules, origin, string.Join(" + ", names));
    }

    private Snapshot TakeSnapshot()
    {
        var joules = new double[_sources.Count];
        for (int i = 0; i < _sources.Count; i++) joules[i] = _sources[i].ReadJoules();
        return new Snapshot(_time.GetUtcNow(), _time.GetTimestamp(), joules, _cpuTime?.ProcessCpuSeconds());
    }

    private void SampleLoop()
    {
        double? threadStart = LinuxNative.CurrentThreadCpuSeconds();
        lock (_gate) _samplerUsesThreadClock = threadStart is not null;
        var busy = new Stopwatch();
        while (!_stop.Wait(_interval))
        {
            busy.Start();
            try
            {
                Poll();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception ex)
            {
                // A background thread must never take the training run down with it.
                lock (_gate) if (_samplerErrors.Count < 20) _samplerErrors.Add($"{ex.GetType().Name}: {ex.Message}");
            }
            busy.Stop();
            double? threadNow = LinuxNative.CurrentThreadCpuSeconds();
            lock (_gate)
            {
                _samplerUsesThreadClock = threadStart is not null && threadNow is not null;
                _samplerCpuSeconds = _samplerUsesThreadClock ? threadNow!.Value - threadStart!.Value : busy.Elapsed.TotalSeconds;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposing) return;
            _disposing = true;
            _stop.Set();
        }
        _sampler?.Join();
        lock (_gate)
        {
            _disposed = true;
            foreach (var source in _sources) source.Dispose();
            _open.Clear();
        }
        _stop.Dispose();
    }
}
