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
/// width and adds the skip (additive skips keep the decoder narrow) before a fire module.
/// </summary>
public sealed class MicroNet : SegmentationModel
{
    private const int Levels = 4;

    private readonly ConvNormAct stem;
    private readonly ModuleList<Sequential> down;
    private readonly ModuleList<Sequential> upProject;
    private readonly ModuleList<FireModule> upFuse;
    private readonly ComputeConv2d head;

    public MicroNet(ModelOptions options) : base("micronet", options, defaultBaseFeatures: 16, totalStride: 1 << Levels)
    {
        int b = BaseFeatures;
        int[] widths = [b, 2 * b, 4 * b, 8 * b, 8 * b];
        int[] firesPerLevel = [1, 1, 1, 2, 2];
        stem = new ConvNormAct(InChannels, widths[0]);
        down = nn.ModuleList<Sequential>();
        for (int level = 1; level <= Levels; level++)
        {
            var stage = new List<(string, nn.Module<Tensor, Tensor>)> { ("pool", nn.MaxPool2d(2)) };
            for (int i = 0; i < firesPerLevel[level]; i++)
                stage.Add(($"fire{i + 1}", Fire(i == 0 ? widths[level - 1] : widths[level], widths[level])));
            down.append(nn.Sequential(stage.ToArray()));
        }
        upProject = nn.ModuleList<Sequential>();
        upFuse = nn.ModuleList<FireModule>();
        for (int level = Levels; level >= 1; level--)
        {
            upProject.append(nn.Sequential(
                ("upsample", nn.Upsample(scale_factor: [2, 2], mode: UpsampleMode.Bilinear, align_corners: false)),
                ("project", new ConvNormAct(widths[level], widths[level - 1], 1))));
            upFuse.append(Fire(widths[level - 1], widths[level - 1]));
        }
        head = new ComputeConv2d(widths[0], OutChannels, 1);
        RegisterComponents();
    }

    private static FireModule Fire(int inChannels, int outChannels) =>
        new(inChannels, Math.Max(1, outChannels / 4), Math.Max(1, outChannels / 2));

    protected override Tensor Segment(Tensor input)
    {
        var skips = new List<Tensor> { stem.call(input) };
        foreach (var stage in down) skips.Add(stage.call(skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < Levels; i++)
            x = upFuse[i].call(upProject[i].call(x) + skips[Levels - 1 - i]);
        return head.call(x);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var skips = new List<OnnxValue> { graph.Call(stem, input) };
        foreach (var stage in down) skips.Add(graph.Call(stage, skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < Levels; i++)
            x = graph.Call(upFuse[i], graph.Call(upProject[i], x) + skips[Levels - 1 - i]);
        return graph.Call(head, x);
    }
}
