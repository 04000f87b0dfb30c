using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>Convolution, optional BatchNorm, optional activation. The convolution has a bias only without BatchNorm.</summary>
public sealed class ConvNormAct : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ComputeConv2d conv;
    private readonly FinalizerSafeBatchNorm2d? bn;
    private readonly nn.Module<Tensor, Tensor>? act;

    public ConvNormAct(long inChannels, long outChannels, int kernelSize = 3, int stride = 1, int dilation = 1,
        long groups = 1, Activation activation = Activation.ReLU, bool batchNorm = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), stride, dilation, groups, activation, batchNorm)
    {
    }

    public ConvNormAct(long inChannels, long outChannels, (int Height, int Width) kernelSize, int stride = 1,
        int dilation = 1, long groups = 1, Activation activation = Activation.ReLU, bool batchNorm = true)
        : base(nameof(ConvNormAct))
    {
        conv = new ComputeConv2d(inChannels, outChannels, kernelSize, stride, dilation: dilation, groups: groups, bias: !batchNorm);
        bn = batchNorm ? new FinalizerSafeBatchNorm2d(outChannels) : null;
        act = Activations.Create(activation);
        RegisterComponents();
    }

    internal ComputeConv2d Conv => conv;
    internal FinalizerSafeBatchNorm2d? Norm => Folded ? null : bn;

    /// <summary>The BatchNorm has been folded into the convolution (<see cref="FoldBatchNorm"/>).</summary>
    public bool Folded { get; private set; }

    public override Tensor forward(Tensor input)
    {
        var x = conv.call(input);
        if (bn is not null && !Folded) x = bn.call(x);
        return act.Apply(x);
    }

    /// <summary>As <see cref="forward"/>, with the BatchNorm folded into the convolution (as <see cref="FoldBatchNorm"/> does for segment).</summary>
    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        OnnxValue x;
        if (bn is not null && !Folded)
        {
            var (scale, shift) = BatchNormAffine();
            x = conv.ToOnnx(graph, input, scale, shift);
        }
        else x = graph.Call(conv, input);
        return graph.Apply(act, x);
    }

    /// <summary>
    /// For inference: folds the BatchNorm's running statistics and affine parameters into the convolution, which then
    /// computes both (one pass over the activations fewer). Training afterwards would use the folded layer without
    /// batch statistics. Returns whether there was a BatchNorm to fold.
    /// </summary>
    public bool FoldBatchNorm()
    {
        if (bn is null || Folded) return false;
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (scale, shift) = BatchNormAffine();
        conv.FoldAffine(scale, shift);
        Folded = true;
        return true;
    }

    /// <summary>The BatchNorm in eval mode as a per-channel affine map: x·scale + shift.</summary>
    private (Tensor Scale, Tensor Shift) BatchNormAffine()
    {
        // The Scalars are held to the end, not made implicitly: TorchSharp's tensor + double passes two temporary Scalars
        // (the value, an alpha of 1) whose finalizers can free them while libtorch reads them (a CI run failed here
        // with "Expected false to be true" from Scalar::toFloat; FinalizerSafeBatchNorm2d says more).
        using var eps = bn!.eps.ToScalar();
        using var one = 1.0.ToScalar();
        var scale = bn.weight! / bn.running_var!.add(eps, one).sqrt();
        var shift = bn.bias! - bn.running_mean! * scale;
        return (scale, shift);
    }
}

/// <summary>Two 3x3 ConvNormAct (ReLU): the U-Net stage. Its middle channels are internal (<see cref="IPrunableBlock"/>).</summary>
public sealed class DoubleConv : nn.Module<Tensor, Tensor>, IOnnxExportable, IPrunableBlock
{
    private readonly ConvNormAct conv1;
    private readonly ConvNormAct conv2;

    public DoubleConv(long inChannels, long outChannels) : base(nameof(DoubleConv))
    {
        (InternalIndex, long middle) = InternalWidthPlan.Take(outChannels);
        conv1 = new ConvNormAct(inChannels, middle);
        conv2 = new ConvNormAct(middle, outChannels);
        RegisterComponents();
    }

    public int InternalIndex { get; }
    public string BlockKind => nameof(DoubleConv);
    public InternalChannelSet InternalChannels => new(conv1, [], [conv2.Conv]);

    public override Tensor forward(Tensor input) => conv2.call(conv1.call(input));

    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) => graph.Call(conv2, graph.Call(conv1, input));
}
