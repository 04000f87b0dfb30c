using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// A very small encoder-decoder for CPU training (about 0.16 M parameters at width 16): a 3x3 stem,
/// four max-pool levels of fire modules (widths b, 2b, 4b, 8b, 8b; two fire modules on the two deepest
/// levels), and a decoder that upsamples bilinearly, projects with a 1x1 ConvNormAct to the skip's
/// width and adds the skip (additive skips keep the decoder narrow) before a fire module. Squeeze
/// width = output width / 4. A <see cref="FireNetShape"/> changes the number of levels (widths keep
/// doubling up to 8b), the fire modules per level, and the squeeze ratio.
/// </summary>
public sealed class MicroNet : SegmentationModel
{
    private const int DefaultLevels = 4;
    private const double DefaultSqueezeRatio = 0.25;

    private readonly int _levels;

    private readonly ConvNormAct stem;
    private readonly ModuleList<Sequential> down;
    private readonly ModuleList<Sequential> upProject;
    private readonly ModuleList<FireModule> upFuse;
    private readonly ComputeConv2d head;

    public MicroNet(ModelOptions options)
        : base("micronet", options, defaultBaseFeatures: 16, totalStride: 1 << (options.Shape.Stages ?? DefaultLevels))
    {
        var shape = options.Shape;
        _levels = shape.Stages ?? DefaultLevels;
        int b = BaseFeatures;
        // b, 2b, 4b, 8b, then 8b on every deeper level.
        int[] widths = [.. Enumerable.Range(0, _levels + 1).Select(level => b << Math.Min(level, 3))];
        // One fire module on the first two levels, two from the third level down.
        int Fires(int level) => shape.FiresPerStage ?? (level >= 3 ? 2 : 1);
        FireModule Fire(int inChannels, int outChannels) =>
            new(inChannels, shape.Squeeze(outChannels, DefaultSqueezeRatio), Math.Max(1, outChannels / 2));
        stem = new ConvNormAct(InChannels, widths[0]);
        down = nn.ModuleList<Sequential>();
        for (int level = 1; level <= _levels; level++)
        {
            var stage = new List<(string, nn.Module<Tensor, Tensor>)> { ("pool", nn.MaxPool2d(2)) };
            for (int i = 0; i < Fires(level); i++)
                stage.Add(($"fire{i + 1}", Fire(i == 0 ? widths[level - 1] : widths[level], widths[level])));
            down.append(nn.Sequential(stage.ToArray()));
        }
        upProject = nn.ModuleList<Sequential>();
        upFuse = nn.ModuleList<FireModule>();
        for (int level = _levels; level >= 1; level--)
        {
            upProject.append(nn.Sequential(
                ("upsample", nn.Upsample(scale_factor: [2, 2], mode: UpsampleMode.Bilinear, align_corners: false)),
                ("project", new ConvNormAct(widths[level], widths[level - 1], 1))));
            upFuse.append(Fire(widths[level - 1], widths[level - 1]));
        }
        head = new ComputeConv2d(widths[0], OutChannels, 1);
        RegisterComponents();
    }

    protected override Tensor Segment(Tensor input)
    {
        var skips = new List<Tensor> { stem.call(input) };
        foreach (var stage in down) skips.Add(stage.call(skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < _levels; i++)
            x = upFuse[i].call(upProject[i].call(x) + skips[_levels - 1 - i]);
        return head.call(x);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var skips = new List<OnnxValue> { graph.Call(stem, input) };
        foreach (var stage in down) skips.Add(graph.Call(stage, skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < _levels; i++)
            x = graph.Call(upFuse[i], graph.Call(upProject[i], x) + skips[_levels - 1 - i]);
        return graph.Call(head, x);
    }
}
