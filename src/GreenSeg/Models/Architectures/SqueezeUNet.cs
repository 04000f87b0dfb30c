using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// Squeeze U-Net (Beheshti &amp; Johnsson, CVPRW 2020): the U-Net's 3x3 double convolutions replaced by
/// fire modules. Each level down is a stride-2 fire module (downsampling) followed by a fire module;
/// each level up is a transposed fire module (stride-2 transposed expand convs), concatenation with the
/// skip and a fire module. Widths b..16b over five levels; squeeze = width/8, expand = width/2.
/// </summary>
public sealed class SqueezeUNet : SegmentationModel
{
    private const int Levels = 4;

    private readonly ConvNormAct stem;
    private readonly FireModule stemFire;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> down;
    private readonly ModuleList<FireModule> upSample;
    private readonly ModuleList<FireModule> upFuse;
    private readonly ComputeConv2d head;

    public SqueezeUNet(ModelOptions options) : base("squeeze-unet", options, defaultBaseFeatures: 64, totalStride: 1 << Levels)
    {
        var widths = Enumerable.Range(0, Levels + 1).Select(level => (long)BaseFeatures << level).ToArray();
        stem = new ConvNormAct(InChannels, widths[0]);
        stemFire = Fire(widths[0], widths[0]);
        down = nn.ModuleList<nn.Module<Tensor, Tensor>>();
        for (int level = 1; level <= Levels; level++)
            down.append(nn.Sequential(
                ("downsample", Fire(widths[level - 1], widths[level], FireSampling.Down)),
                ("fire", Fire(widths[level], widths[level]))));
        upSample = nn.ModuleList<FireModule>();
        upFuse = nn.ModuleList<FireModule>();
        for (int level = Levels; level >= 1; level--)
        {
            upSample.append(Fire(widths[level], widths[level - 1], FireSampling.Up));
            upFuse.append(Fire(2 * widths[level - 1], widths[level - 1]));
        }
        head = new ComputeConv2d(widths[0], OutChannels, 1);
        RegisterComponents();
    }

    private static FireModule Fire(long inChannels, long outChannels, FireSampling sampling = FireSampling.Keep) =>
        new(inChannels, Math.Max(1, outChannels / 8), Math.Max(1, outChannels / 2), sampling);

    protected override Tensor Segment(Tensor input)
    {
        var skips = new List<Tensor> { stemFire.call(stem.call(input)) };
        foreach (var stage in down) skips.Add(stage.call(skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < Levels; i++)
            x = upFuse[i].call(cat([skips[Levels - 1 - i], upSample[i].call(x)], 1));
        return head.call(x);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var skips = new List<OnnxValue> { graph.Call(stemFire, graph.Call(stem, input)) };
        foreach (var stage in down) skips.Add(graph.Call(stage, skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < Levels; i++)
            x = graph.Call(upFuse[i], graph.Cat([skips[Levels - 1 - i], graph.Call(upSample[i], x)]));
        return graph.Call(head, x);
    }
}
