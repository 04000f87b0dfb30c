namespace GreenSeg.Training;

/// <summary>Whether a smaller (loss) or a larger (Dice) metric is better.</summary>
public enum MetricMode { Min, Max }

/// <summary>
/// Stops training once the monitored metric has gone <see cref="Patience"/> epochs without improving on the
/// best value by more than <see cref="MinDelta"/>. <see cref="Update"/> also tells whether this epoch was a
/// new best, which is when the engine writes the best checkpoint. NaN never counts as an improvement.
/// </summary>
public sealed class EarlyStopping
{
    public int Patience { get; }
    public double MinDelta { get; }
    public MetricMode Mode { get; }

    /// <summary>The best value seen; null before the first finite one.</summary>
    public double? Best { get; private set; }
    public int EpochsWithoutImprovement { get; private set; }
    public bool ShouldStop => EpochsWithoutImprovement >= Patience;

    public EarlyStopping(int patience, double minDelta = 0, MetricMode mode = MetricMode.Min)
    {
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be >= 1 epoch");
        if (!(minDelta >= 0)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "min delta must be >= 0");
        Patience = patience;
        MinDelta = minDelta;
        Mode = mode;
    }

    /// <summary>Records one epoch's metric; returns true when it is a new best.</summary>
    public bool Update(double metric)
    {
        bool improved = double.IsFinite(metric) && (Best is not double best ||
            (Mode == MetricMode.Min ? metric < best - MinDelta : metric > best + MinDelta));
        if (improved)
        {
            Best = metric;
            EpochsWithoutImprovement = 0;
        }
        else
        {
            EpochsWithoutImprovement++;
        }
        return improved;
    }

    /// <summary>Continues from a checkpoint's values (resume).</summary>
    public void Restore(double? best, int epochsWithoutImprovement)
    {
        if (epochsWithoutImprovement < 0) throw new ArgumentOutOfRangeException(nameof(epochsWithoutImprovement), epochsWithoutImprovement, "must be >= 0");
        Best = best;
        EpochsWithoutImprovement = epochsWithoutImprovement;
    }
}
