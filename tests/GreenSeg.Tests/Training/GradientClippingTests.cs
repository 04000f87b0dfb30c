using GreenSeg.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

public class GradientClippingTests
{
    [Fact]
    public void ScalesTheGlobalNormDownAndReturnsTheNormBefore()
    {
        using var scope = torch.NewDisposeScope();
        var a = new Parameter(torch.tensor(new[] { 1.0f, 2.0f }));
        var b = new Parameter(torch.tensor(new[] { 3.0f }));
        var unused = new Parameter(torch.tensor(new[] { 5.0f }));
        // Gradients (3, 4) and (12): global norm 13.
        ((a * torch.tensor(new[] { 3.0f, 4.0f })).sum() + (b * 12).sum()).backward();
        GradientClipping.ClipNorm([a, b, unused], maxNorm: 6.5).ShouldBe(13, 1e-5);
        a.grad!.data<float>().ToArray().ShouldBe([1.5f, 2.0f], 1e-5f);
        b.grad!.data<float>().ToArray().ShouldBe([6.0f], 1e-5f);
        unused.grad.ShouldBeNull();
        // Below the limit nothing changes.
        GradientClipping.ClipNorm([a, b], maxNorm: 100).ShouldBe(6.5, 1e-5);
        b.grad!.data<float>().ToArray().ShouldBe([6.0f], 1e-5f);
    }
}
