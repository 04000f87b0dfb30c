namespace GreenSeg.Energy;

/// <summary>
/// Turns power samples into energy with the trapezoid rule: between two samples the power is taken
/// to change linearly. Used wherever only instantaneous power is known (NVML without an energy
/// counter, the resident-memory model), so both integrate the same way.
/// </summary>
public sealed class PowerIntegrator
{
    private double _lastSeconds;
    private double _lastWatts;

    public PowerIntegrator(double startSeconds, double startWatts)
    {
        _lastSeconds = startSeconds;
        _lastWatts = startWatts;
    }

    public double Joules { get; private set; }

    /// <summary>Adds a sample; a sample not later than the previous one only replaces the power level.</summary>
    public double Add(double seconds, double watts)
    {
        double dt = seconds - _lastSeconds;
        if (dt > 0)
        {
            Joules += 0.5 * (_lastWatts + watts) * dt;
            _lastSeconds = seconds;
        }
        _lastWatts = watts;
        return Joules;
    }
}
