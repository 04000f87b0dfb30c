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
        _pointwise = kernelSize == (1, 1) && pad == (0, 0) && groups == 1;
    }

    /// <summary>A 1x1 kernel without padding or groups: it only mixes channels, computed as a matrix product (<see cref="MixChannels"/>).</summary>
    private readonly bool _pointwise;

    protected override Tensor Convolve(Tensor input, Tensor weight, Tensor? bias)
    {
        if (!_pointwise) return nn.functional.conv2d(input, weight, bias, Stride, Padding, Dilation, Groups);
        if (Stride[0] == 1 && Stride[1] == 1) return MixChannels(input, weight, bias);
        // A strided 1x1 convolution without padding reads every Stride-th pixel: the same as a 1x1 convolution of that
        // subsample. libtorch's own kernel for it corrupted the heap here on channels-last inputs with few channels
        // (segfaults and "double free" in training, 2 -> 4 up to 8 -> 16 channels; 16 -> 32 passed), so it is never called.
        using var subsample = input[.., .., TensorIndex.Slice(step: Stride[0]), TensorIndex.Slice(step: Stride[1])];
        return MixChannels(subsample, weight, bias);
    }

    /// <summary>
    /// A 1x1 convolution as the product of each pixel's channel vector with the (out x in) weight matrix: the same
    /// arithmetic. libtorch sends a single-threaded 1x1 convolution of a batch under 16 past oneDNN to a probe of NNPACK,
    /// which this CPU lacks and which then logs a warning on every call (10,000 lines in one `crossval --threads 1`).
    /// The output is channels-last in the channels-last compute mode and NCHW otherwise, as a convolution's would be.
    /// </summary>
    private Tensor MixChannels(Tensor input, Tensor weight, Tensor? bias)
    {
        using var pixels = input.permute(0, 2, 3, 1);
        using var matrix = weight.reshape(OutChannels, InChannels);
        using var mixed = nn.functional.linear(pixels, matrix, bias);
        var output = mixed.permute(0, 3, 1, 2);
        if (ChannelsLast) return output;
        using (output) return output.contiguous();
    }

    protected override OnnxValue Emit(OnnxGraph graph, OnnxValue input, Tensor weight, Tensor? bias) =>
        graph.Conv(input, weight, bias, Stride, Padding, Dilation, Groups);

    public override long MultiplyAccumulates(long[] inputShape, long[] outputShape) =>
        Product(outputShape, 1) * (InChannels / Groups) * KernelSize[0] * KernelSize[1];
}
