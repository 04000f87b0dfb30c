using System.Runtime;
using GreenSeg.Common;

namespace GreenSeg.Tests.Common;

[Collection(nameof(GreenSeg.Tests.Training.SerialTorch))]
public sealed class ScalarLifetimeGuardTests
{
    [Fact]
    public void No_collection_happens_inside_and_nested_or_parallel_entries_share_one_region()
    {
        int before;
        using (ScalarLifetimeGuard.Enter())
        {
            before = GC.CollectionCount(0);
            using (ScalarLifetimeGuard.Enter())
            {
                for (int i = 0; i < 1000; i++) _ = new byte[10_000];
                GCSettings.LatencyMode.ShouldBe(GCLatencyMode.NoGCRegion);
            }
            GCSettings.LatencyMode.ShouldBe(GCLatencyMode.NoGCRegion);
            GC.CollectionCount(0).ShouldBe(before);
        }
        GCSettings.LatencyMode.ShouldNotBe(GCLatencyMode.NoGCRegion);
        Parallel.For(0, 8, index =>
        {
            using var region = ScalarLifetimeGuard.Enter();
            for (int i = 0; i < 100; i++) _ = new byte[10_000];
        });
        GCSettings.LatencyMode.ShouldNotBe(GCLatencyMode.NoGCRegion);
    }

    [Fact]
    public void A_region_whose_budget_ran_out_ends_quietly()
    {
        var region = ScalarLifetimeGuard.Enter();
        for (int i = 0; i < 400; i++) _ = new byte[1 << 20];   // 400 MB: past the budget, the runtime collects
        region.Dispose();
        region.Dispose();
        GCSettings.LatencyMode.ShouldNotBe(GCLatencyMode.NoGCRegion);
    }
}
