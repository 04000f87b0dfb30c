using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public class ComputeConvolutionTests
{
    [Theory]
    [InlineData(3, 1, 1, 16)]
    [InlineData(5, 1, 1, 16)]
    [InlineData(3, 1, 2, 16)]
    [InlineData(3, 2, 1, 8)]
    [InlineData(1, 2, 1, 8)]
    public void DefaultPaddingKeepsOrHalvesTheSize(int kernel, int stride, int dilation, int expectedSide)
    {
        using var conv = new ComputeConv2d(2, 4, kernel, stride, dilation: dilation);
        using var output = conv.call(randn(1, 2, 16, 16));
        output.shape.ShouldBe([1, 4, expectedSide, expectedSide]);
    }

    [Fact]
    public void MatchesTorchConvolutionWithTheSameWeights()
    {
        using var scope = NewDisposeScope();
        var conv = new ComputeConv2d(3, 5, 3);
        var reference = nn.Conv2d(3, 5, 3, padding: 1);
        reference.load_state_dict(conv.state_dict());
        var input = randn(2, 3, 9, 9);
        conv.call(input).allclose(reference.call(input), rtol: 1e-5, atol: 1e-6).ShouldBeTrue();
        conv.state_dict().Keys.ShouldBe(["weight", "bias"], ignoreOrder: true);
        new ComputeConv2d(3, 5, 3, bias: false).state_dict().Keys.ShouldBe(["weight"]);
    }

    [Theory]
    [InlineData(2, 4, 128)]
    [InlineData(4, 8, 32)]
    [InlineData(8, 16, 32)]
    [InlineData(16, 32, 16)]
    public void AStridedOneByOneConvolutionOnChannelsLastInputIsTheStridedConvolution(int inChannels, int outChannels, int side)
    {
        // libtorch's own strided 1x1 kernel corrupted the heap on these channels-last shapes (the process died); the
        // convolution of the subsample must give what the strided convolution gives on NCHW, forward and backward.
        using var scope = NewDisposeScope();
        var conv = new ComputeConv2d(inChannels, outChannels, 1, stride: 2);
        var input = randn(8, inChannels, side, side);
        var channelsLast = ComputeMode.ToChannelsLast(input).detach().requires_grad_(true);
        var output = conv.call(channelsLast);
        output.sum().backward();

        var nchw = input.detach().clone().requires_grad_(true);
        var weight = conv.Weight.detach().clone().requires_grad_(true);
        var reference = nn.functional.conv2d(nchw, weight, conv.Bias!.detach(), strides: [2, 2]);
        reference.sum().backward();

        output.shape.ShouldBe([8, outChannels, side / 2, side / 2]);
        output.allclose(reference, rtol: 1e-5, atol: 1e-5).ShouldBeTrue();
        channelsLast.grad!.allclose(nchw.grad!, rtol: 1e-5, atol: 1e-5).ShouldBeTrue();
        // Each weight's gradient sums batch x side² / 4 products (32768 at 128²) in another order in each layout: its rounding
        // follows the sum's scale, not the entry's, so an entry near 0 is compared at the scale of the largest.
        double scale = weight.grad!.abs().max().item<float>();
        ((double)(conv.Weight.grad! - weight.grad!).abs().max().item<float>()).ShouldBeLessThan(1e-4 * scale);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void AOneByOneConvolutionIsTheConvolutionInEitherLayout(bool channelsLast, bool hasBias)
    {
        // Computed as a channel-mixing matrix product (libtorch's single-threaded 1x1 path probes NNPACK and warns on
        // every call): forward and backward must be the convolution's, and the output must keep the compute mode's layout.
        using var scope = NewDisposeScope();
        var conv = new ComputeConv2d(6, 3, 1, bias: hasBias) { ChannelsLast = channelsLast };
        var input = randn(4, 6, 10, 7);
        var fed = (channelsLast ? ComputeMode.ToChannelsLast(input) : input.clone()).detach().requires_grad_(true);
        var output = conv.call(fed);
        (output * arange(output.numel()).reshape(output.shape)).sum().backward();

        var nchw = input.detach().clone().requires_grad_(true);
        var weight = conv.Weight.detach().clone().requires_grad_(true);
        var reference = nn.functional.conv2d(nchw, weight, conv.Bias?.detach());
        (reference * arange(reference.numel()).reshape(reference.shape)).sum().backward();

        output.allclose(reference, rtol: 1e-5, atol: 1e-5).ShouldBeTrue();
        fed.grad!.allclose(nchw.grad!, rtol: 1e-4, atol: 1e-3).ShouldBeTrue();
        conv.Weight.grad!.allclose(weight.grad!, rtol: 1e-4, atol: 1e-2).ShouldBeTrue();
        output.is_contiguous().ShouldBe(!channelsLast);
        ComputeMode.IsChannelsLast(output).ShouldBe(channelsLast);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void DoublingTransposedConvolutionDoublesTheSize(int kernel)
    {
        using var up = ComputeConvTranspose2d.Doubling(4, 2, kernel);
        using var output = up.call(randn(1, 4, 7, 5));
        output.shape.ShouldBe([1, 2, 14, 10]);
    }

    [Fact]
    public void Bf16ModeComputesInBf16AndReturnsFloat32()
    {
        using var scope = NewDisposeScope();
        var conv = new ComputeConv2d(4, 4, 3);
        var input = randn(1, 4, 8, 8);
        var fp32 = conv.call(input);
        conv.Precision = Precision.Bf16Mixed;
        var bf16 = conv.call(input);
        bf16.dtype.ShouldBe(ScalarType.Float32);
        var expected = nn.functional.conv2d(input.to(ScalarType.BFloat16), conv.Weight.to(ScalarType.BFloat16),
            conv.Bias!.to(ScalarType.BFloat16), [1, 1], [1, 1], [1, 1]).to(ScalarType.Float32);
        ModelTestData.BitIdentical(bf16, expected).ShouldBeTrue();
        ModelTestData.BitIdentical(bf16, fp32).ShouldBeFalse();
    }
}
