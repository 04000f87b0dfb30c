using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public sealed class FinalizerSafeBatchNorm2dTests
{
    [Fact]
    public void It_computes_and_tracks_exactly_what_TorchSharps_BatchNorm2d_does_under_the_same_names()
    {
        using var scope = NewDisposeScope();
        using var ours = new FinalizerSafeBatchNorm2d(3);
        using var theirs = nn.BatchNorm2d(3);
        ours.state_dict().Keys.Order().ShouldBe(theirs.state_dict().Keys.Order());
        using var generator = new Generator(5);
        for (int step = 0; step < 3; step++)
        {
            var input = randn([4, 3, 5, 6], generator: generator) * 2 + 1;
            ours.train();
            theirs.train();
            ours.call(input).allclose(theirs.call(input), rtol: 0, atol: 1e-6).ShouldBeTrue();
        }
        ours.num_batches_tracked!.item<long>().ShouldBe(3);
        ours.running_mean!.allclose(theirs.running_mean!, rtol: 0, atol: 1e-6).ShouldBeTrue();
        ours.running_var!.allclose(theirs.running_var!, rtol: 0, atol: 1e-6).ShouldBeTrue();
        ours.eval();
        theirs.eval();
        var probe = randn([2, 3, 5, 6], generator: generator);
        ours.call(probe).allclose(theirs.call(probe), rtol: 0, atol: 1e-6).ShouldBeTrue();
        ours.num_batches_tracked!.item<long>().ShouldBe(3);
    }
}
