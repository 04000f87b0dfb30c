using GreenSeg.Training;

namespace GreenSeg.Tests.Training;

public class EarlyStoppingTests
{
    [Fact]
    public void StopsAfterPatienceEpochsWithoutImprovementBeyondMinDelta()
    {
        var stopping = new EarlyStopping(patience: 3, minDelta: 0.01);
        stopping.Update(1.0).ShouldBeTrue();
        stopping.Update(0.995).ShouldBeFalse(); // better, but not by more than min delta
        stopping.Update(1.2).ShouldBeFalse();
        stopping.ShouldStop.ShouldBeFalse();
        stopping.Update(0.98).ShouldBeTrue();   // resets the count
        stopping.Best.ShouldBe(0.98);
        stopping.Update(0.99).ShouldBeFalse();
        stopping.Update(0.975).ShouldBeFalse();
        stopping.ShouldStop.ShouldBeFalse();
        stopping.Update(double.NaN).ShouldBeFalse();
        stopping.ShouldStop.ShouldBeTrue();
        stopping.EpochsWithoutImprovement.ShouldBe(3);
    }

    [Fact]
    public void MaxModeTracksTheLargestValue()
    {
        var stopping = new EarlyStopping(patience: 2, mode: MetricMode.Max);
        stopping.Update(0.5).ShouldBeTrue();
        stopping.Update(0.7).ShouldBeTrue();
        stopping.Update(0.7).ShouldBeFalse(); // equal is not better
        stopping.Update(0.6).ShouldBeFalse();
        stopping.ShouldStop.ShouldBeTrue();
        stopping.Best.ShouldBe(0.7);
    }

    [Fact]
    public void RestoreContinuesACheckpointedCount()
    {
        var stopping = new EarlyStopping(patience: 2);
        stopping.Restore(best: 0.4, epochsWithoutImprovement: 1);
        stopping.Update(0.5).ShouldBeFalse();
        stopping.ShouldStop.ShouldBeTrue();
        Should.Throw<ArgumentOutOfRangeException>(() => new EarlyStopping(0));
        Should.Throw<ArgumentOutOfRangeException>(() => new EarlyStopping(1, -0.1));
    }
}
