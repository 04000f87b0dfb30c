using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>Squeeze-and-excitation (Hu et al. 2018): global pool, 1x1 reduce + activation, 1x1 expand + gate, rescale.</summary>
public sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly AdaptiveAvgPool2d pool;
    private readonly ConvNormAct reduce;
    private readonly ConvNormAct expand;

    public SqueezeExcitation(long channels, long squeezeChannels, Activation activation, Activation gate)
        : base(nameof(SqueezeExcitation))
    {
        pool = nn.AdaptiveAvgPool2d(1);
        reduce = new ConvNormAct(channels, squeezeChannels, 1, activation: activation, batchNorm: false);
        expand = new ConvNormAct(squeezeChannels, channels, 1, activation: gate, batchNorm: false);
        RegisterComponents();
    }

    internal ConvNormAct Reduce => reduce;
    internal ConvNormAct Expand => expand;

    public override Tensor forward(Tensor input) => input * expand.call(reduce.call(pool.call(input)));

    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) => input * graph.Call(expand, graph.Call(reduce, graph.Call(pool, input)));
}
