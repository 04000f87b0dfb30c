using GreenSeg.Models.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>Where a fire module moves the resolution.</summary>
public enum FireSampling
{
    /// <summary>1x1 and 3x3 expand convolutions, stride 1.</summary>
    Keep,
    /// <summary>Both expand convolutions with stride 2 (Squeeze U-Net's downsampling module).</summary>
    Down,
    /// <summary>Transposed 2x2 and 3x3 expand convolutions with stride 2 (Squeeze U-Net's upsampling module).</summary>
    Up,
}

/// <summary>
/// SqueezeNet fire module (Iandola et al. 2016): 1x1 squeeze conv + BN + ReLU, then parallel 1x1 and
/// 3x3 expand convs with ReLU, concatenated: 2 x <c>expand</c> output channels.
/// </summary>
public sealed class FireModule : nn.Module<Tensor, Tensor>, IOnnxExportable, IPrunableBlock
{
    private readonly ConvNormAct squeeze;
    private readonly ComputeConvolution expand1x1;
    private readonly ComputeConvolution expand3x3;
    private readonly nn.Module<Tensor, Tensor> relu1x1;
    private readonly nn.Module<Tensor, Tensor> relu3x3;

    public long OutChannels { get; }

    public FireModule(long inChannels, long squeezeChannels, long expandChannels, FireSampling sampling = FireSampling.Keep)
        : base(nameof(FireModule))
    {
        (InternalIndex, squeezeChannels) = InternalWidthPlan.Take(squeezeChannels);
        squeeze = new ConvNormAct(inChannels, squeezeChannels, 1);
        (expand1x1, expand3x3) = sampling switch
        {
            FireSampling.Keep => Pair(new ComputeConv2d(squeezeChannels, expandChannels, 1),
                new ComputeConv2d(squeezeChannels, expandChannels, 3)),
            FireSampling.Down => Pair(new ComputeConv2d(squeezeChannels, expandChannels, 1, stride: 2),
                new ComputeConv2d(squeezeChannels, expandChannels, 3, stride: 2)),
            FireSampling.Up => Pair(ComputeConvTranspose2d.Doubling(squeezeChannels, expandChannels, 2),
                ComputeConvTranspose2d.Doubling(squeezeChannels, expandChannels, 3)),
            _ => throw new ArgumentOutOfRangeException(nameof(sampling), sampling, null),
        };
        relu1x1 = nn.ReLU();
        relu3x3 = nn.ReLU();
        OutChannels = 2 * expandChannels;
        RegisterComponents();
    }

    public int InternalIndex { get; }
    public string BlockKind => nameof(FireModule);
    public InternalChannelSet InternalChannels => new(squeeze, [], [expand1x1, expand3x3]);

    private static (ComputeConvolution, ComputeConvolution) Pair(ComputeConvolution a, ComputeConvolution b) => (a, b);

    public override Tensor forward(Tensor input)
    {
        var s = squeeze.call(input);
        return cat([relu1x1.call(expand1x1.call(s)), relu3x3.call(expand3x3.call(s))], 1);
    }

    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input)
    {
        var s = graph.Call(squeeze, input);
        return graph.Cat([graph.Call(relu1x1, graph.Call(expand1x1, s)), graph.Call(relu3x3, graph.Call(expand3x3, s))]);
    }
}
