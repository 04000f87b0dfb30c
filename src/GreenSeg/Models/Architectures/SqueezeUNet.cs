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
/// A <see cref="FireNetShape"/> changes the number of levels, the fire modules per level (the stride-2
/// one included: default 2) and the squeeze ratio.
/// </summary>
public sealed class SqueezeUNet : SegmentationModel
{
    private const int DefaultLevels = 4, DefaultFiresPerLevel = 2;
    private const double DefaultSqueezeRatio = 0.125;

    private readonly int _levels;

    private readonly ConvNormAct stem;
    private readonly FireModule stemFire;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> down;
    private readonly ModuleList<FireModule> upSample;
    private readonly ModuleList<FireModule> upFuse;
    private readonly ComputeConv2d head;

    public SqueezeUNet(ModelOptions options)
        : base("squeeze-unet", options, defaultBaseFeatures: 64, totalStride: 1 << (options.Shape.Stages ?? DefaultLevels))
    {
        var shape = options.Shape;
        _levels = shape.Stages ?? DefaultLevels;
        int firesPerLevel = shape.FiresPerStage ?? DefaultFiresPerLevel;
        FireModule Fire(long inChannels, long outChannels, FireSampling sampling = FireSampling.Keep) =>
            new(inChannels, shape.Squeeze(outChannels, DefaultSqueezeRatio), Math.Max(1, outChannels / 2), sampling);
        var widths = Enumerable.Range(0, _levels + 1).Select(level => (long)BaseFeatures << level).ToArray();
        stem = new ConvNormAct(InChannels, widths[0]);
        stemFire = Fire(widths[0], widths[0]);
        down = nn.ModuleList<nn.Module<Tensor, Tensor>>();
        for (int level = 1; level <= _levels; level++)
        {
            var stage = new List<(string, nn.Module<Tensor, Tensor>)> { ("downsample", Fire(widths[level - 1], widths[level], FireSampling.Down)) };
            // The first fire after the stride-2 one keeps its published name.
            for (int i = 1; i < firesPerLevel; i++) stage.Add((i == 1 ? "fire" : $"fire{i}", Fire(widths[level], widths[level])));
            down.append(nn.Sequential(stage.ToArray()));
        }
        upSample = nn.ModuleList<FireModule>();
        upFuse = nn.ModuleList<FireModule>();
        for (int level = _levels; level >= 1; level--)
        {
            upSample.append(Fire(widths[level], widths[level - 1], FireSampling.Up));
            upFuse.append(Fire(2 * widths[level - 1], widths[level - 1]));
        }
        head = new ComputeConv2d(widths[0], OutChannels, 1);
        RegisterComponents();
    }

    protected override Tensor Segment(Tensor input)
    {
        var skips = new List<Tensor> { stemFire.call(stem.call(input)) };
        foreach (var stage in down) skips.Add(stage.call(skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < _levels; i++)
            x = upFuse[i].call(cat([skips[_levels - 1 - i], upSample[i].call(x)], 1));
        return head.call(x);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var skips = new List<OnnxValue> { graph.Call(stemFire, graph.Call(stem, input)) };
        foreach (var stage in down) skips.Add(graph.Call(stage, skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < _levels; i++)
            x = graph.Call(upFuse[i], graph.Cat([skips[_levels - 1 - i], graph.Call(upSample[i], x)]));
        return graph.Call(head, x);
    }
}
