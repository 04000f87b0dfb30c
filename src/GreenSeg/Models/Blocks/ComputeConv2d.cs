using GreenSeg.Models.Onnx;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>2D convolution with switchable compute precision. Padding defaults to "same" for stride 1.</summary>
public sealed class ComputeConv2d : ComputeConvolution
{
    public long[] Stride { get; }
    public long[] Padding { get; }
    public long[] Dilation { get; }

    public ComputeConv2d(long inChannels, long outChannels, int kernelSize, int stride = 1, int? padding = null,
        int dilation = 1, long groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), stride, padding is null ? null : (padding.Value, padding.Value),
            dilation, groups, bias)
    {
    }

    public ComputeConv2d(long inChannels, long outChannels, (int Height, int Width) kernelSize, int stride = 1,
        (int Height, int Width)? padding = null, int dilation = 1, long groups = 1, bool bias = true)
        : base(nameof(ComputeConv2d), inChannels, outChannels, [kernelSize.Height, kernelSize.Width], groups, bias,
            [outChannels, inChannels / groups, kernelSize.Height, kernelSize.Width])
    {
        Stride = [stride, stride];
        Dilation = [dilation, dilation];
        var pad = padding ?? ((kernelSize.Height - 1) / 2 * dilation, (kernelSize.Width - 1) / 2 * dilation);
        Padding = [pad.Height, pad.Width];
        _subsamplesFirst = kernelSize == (1, 1) && stride > 1 && pad == (0, 0);
    }

    /// <summary>A 1x1 kernel, a stride above 1 and no padding: computed as a convolution of the subsampled input.</summary>
    private readonly bool _subsamplesFirst;

    protected override Tensor Convolve(Tensor input, Tensor weight, Tensor? bias)
    {
        if (!_subsamplesFirst) return nn.functional.conv2d(input, weight, bias, Stride, Padding, Dilation, Groups);
        // A strided 1x1 convolution without padding reads every Stride-th pixel: the same as a 1x1 convolution of that
        // subsample. libtorch's own kernel for it corrupted the heap here on channels-last inputs with few channels
        // (segfaults and "double free" in training, 2 -> 4 up to 8 -> 16 channels; 16 -> 32 passed), so it is never called.
        using var subsample = input[.., .., TensorIndex.Slice(step: Stride[0]), TensorIndex.Slice(step: Stride[1])];
        return nn.functional.conv2d(subsample, weight, bias, [1, 1], [0, 0], Dilation, Groups);
    }

    protected override OnnxValue Emit(OnnxGraph graph, OnnxValue input, Tensor weight, Tensor? bias) =>
        graph.Conv(input, weight, bias, Stride, Padding, Dilation, Groups);

    public override long MultiplyAccumulates(long[] inputShape, long[] outputShape) =>
        Product(outputShape, 1) * (InChannels / Groups) * KernelSize[0] * KernelSize[1];
}
