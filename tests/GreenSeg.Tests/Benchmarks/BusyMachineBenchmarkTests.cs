using GreenSeg.Benchmarks;
using GreenSeg.Tests.Training;

namespace GreenSeg.Tests.Benchmarks;

[Collection(nameof(SerialTorch))]
public sealed class BusyMachineBenchmarkTests
{
    [Fact]
    public void Rows_go_from_idle_to_every_core_busy_with_libtorch_on_all_cores_or_the_free_ones()
    {
        int cores = Environment.ProcessorCount;
        var rows = BusyMachineBenchmark.Run(new BusyMachineOptions { Model = "micronet", ModelWidth = null, Size = 32, BatchSize = 2, Steps = 1, MaxLoadThreads = 1 });

        rows[0].ShouldBe(rows[0] with { LoadThreads = 0, TorchThreads = cores });
        rows.Where(r => r.LoadThreads == 1).Select(r => r.TorchThreads).ShouldBe(new[] { cores, Math.Max(1, cores - 1) }.Distinct());
        rows.ShouldAllBe(r => r.TrainingStepMs > 0 && r.InferenceBatchMs > 0);
    }
}
