using TorchSharp;

namespace GreenSeg.Tests.Common;

public class TorchLoadsTests
{
    [Fact]
    public void NativeLibraryLoadsAndComputesInTheTestHost()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        var product = torch.matmul(a, a.t());
        product.data<float>().ToArray().ShouldBe(new float[] { 5, 14, 14, 50 });
    }
}
