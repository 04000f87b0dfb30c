namespace GreenSeg.Training;

/// <summary>What a trainer tells its user while it runs (the CLI draws progress bars or prints lines).</summary>
public interface ITrainingObserver
{
    void Message(string line);
    void EpochStarted(int epoch, int totalEpochs, int steps);
    void StepDone(int epoch, int step, int steps, double loss, double slicesPerSecond);
    void EpochDone(EpochMetrics metrics, int totalEpochs);
}

/// <summary>An observer that hears nothing (library use, tests).</summary>
public sealed class SilentObserver : ITrainingObserver
{
    public static SilentObserver Instance { get; } = new();
    public void Message(string line) { }
    public void EpochStarted(int epoch, int totalEpochs, int steps) { }
    public void StepDone(int epoch, int step, int steps, double loss, double slicesPerSecond) { }
    public void EpochDone(EpochMetrics metrics, int totalEpochs) { }
}
