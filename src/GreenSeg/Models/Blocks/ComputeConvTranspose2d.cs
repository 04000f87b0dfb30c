using GreenSeg.Models.Onnx;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>2D transposed convolution with switchable compute precision.</summary>
public sealed class ComputeConvTranspose2d : ComputeConvolution
{
    protected override int OutputChannelAxis => 1;

    public long[] Stride { get; }
    public long[] Padding { get; }
    public long[] OutputPadding { get; }

    public ComputeConvTranspose2d(long inChannels, long outChannels, int kernelSize, int stride, int padding = 0,
        int outputPadding = 0, long groups = 1, bool bias = true)
        : base(nameof(ComputeConvTranspose2d), inChannels, outChannels, [kernelSize, kernelSize], groups, bias,
            [inChannels, outChannels / groups, kernelSize, kernelSize])
    {
        Stride = [stride, stride];
        Padding = [padding, padding];
        OutputPadding = [outputPadding, outputPadding];
    }

    /// <summary>Doubles height and width exactly: kernel 2 stride 2, or kernel 3 stride 2 with output padding 1.</summary>
    public static ComputeConvTranspose2d Doubling(long inChannels, long outChannels, int kernelSize = 2, bool bias = true) =>
        kernelSize switch
        {
            2 => new ComputeConvTranspose2d(inChannels, outChannels, 2, 2, bias: bias),
            3 => new ComputeConvTranspose2d(inChannels, outChannels, 3, 2, padding: 1, outputPadding: 1, bias: bias),
            _ => throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "expected 2 or 3"),
        };

    protected override Tensor Convolve(Tensor input, Tensor weight, Tensor? bias) =>
        nn.functional.conv_transpose2d(input, weight, bias, Stride, Padding, OutputPadding, [1, 1], Groups);

    protected override OnnxValue Emit(OnnxGraph graph, OnnxValue input, Tensor weight, Tensor? bias) =>
        graph.ConvTranspose(input, weight, bias, Stride, Padding, OutputPadding, Groups);

    // Every input element is scattered through (out/groups) x k x k weights.
    public override long MultiplyAccumulates(long[] inputShape, long[] outputShape) =>
        Product(inputShape, 1) * (OutChannels / Groups) * KernelSize[0] * KernelSize[1];
}
