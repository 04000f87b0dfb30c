using GreenSeg.Common;
using GreenSeg.Benchmarks;
using GreenSeg.Models;

namespace GreenSeg.Tests.Benchmarks;

public class ModelSpeedBenchmarkTests
{
    [Fact]
    public void TimesEveryStepOfBothModesAfterTheWarmUp()
    {
        var options = new ModelSpeedOptions { Batch = 2, Steps = 3, WarmupSteps = 1, Size = 32 };
        var result = ModelSpeedBenchmark.Run("MicroNet", options);
        result.Model.ShouldBe("micronet");
        result.Parameters.ShouldBeGreaterThan(100_000);
        result.Reference.Compute.ShouldBe(ComputeSettings.Reference);
        result.Fast.Compute.ShouldBe(ComputeSettings.Fast);
        foreach (var measurement in new[] { result.Reference, result.Fast })
        {
            measurement.StepMilliseconds.Count.ShouldBe(3);
            measurement.StepMilliseconds.ShouldAllBe(ms => ms > 0);
            measurement.MillisecondsPerSlice.ShouldBe(measurement.MedianStepMilliseconds / 2, 1e-9);
        }
    }

    [Fact]
    public void MedianOfAnEvenNumberOfStepsIsTheMiddleMean()
    {
        new ModelSpeedMeasurement(ComputeSettings.Reference, 1, 4, [40, 10, 30, 20]).MedianStepMilliseconds.ShouldBe(25);
    }

    [Fact]
    public void InvalidSettingsAreRefused()
    {
        Should.Throw<GreenSegException>(() => ModelSpeedBenchmark.Run("micronet", new ModelSpeedOptions { Steps = 0 }));
        Should.Throw<GreenSegException>(() => ModelSpeedBenchmark.Run("micronet", new ModelSpeedOptions { Size = 40 }))
            .Message.ShouldContain("divisible by 16");
    }
}
