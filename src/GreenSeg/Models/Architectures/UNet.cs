using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// Classic U-Net (Ronneberger et al. 2015) with BatchNorm and "same" padding: four 2x max-pool stages
/// down, four 2x2 transposed-conv stages up, widths b, 2b, 4b, 8b, 16b. b = 64 gives 31.04 M parameters. The
/// full-resolution stage may be narrower than b (<see cref="ModelOptions.FirstStageWidth"/>), for a cheaper step.
/// </summary>
public class UNet : SegmentationModel
{
    public const int Levels = 4;

    // Protected: TorchSharp registers the fields a derived class's GetType() can see.
    protected readonly DoubleConv inConv;
    protected readonly ModuleList<nn.Module<Tensor, Tensor>> down;
    protected readonly ModuleList<UNetUpStage> up;
    protected readonly ComputeConv2d head;

    public UNet(ModelOptions options) : this("unet", options, attentionGates: false) { }

    protected UNet(string modelName, ModelOptions options, bool attentionGates)
        : base(modelName, options, defaultBaseFeatures: 64, totalStride: 1 << Levels)
    {
        var widths = Enumerable.Range(0, Levels + 1).Select(level => (long)BaseFeatures << level).ToArray();
        if (FirstStageWidth is int first) widths[0] = first;
        inConv = new DoubleConv(InChannels, widths[0]);
        down = nn.ModuleList<nn.Module<Tensor, Tensor>>();
        for (int level = 1; level <= Levels; level++)
            down.append(nn.Sequential(("pool", nn.MaxPool2d(2)), ("conv", new DoubleConv(widths[level - 1], widths[level]))));
        up = nn.ModuleList<UNetUpStage>();
        for (int level = Levels; level >= 1; level--)
            up.append(new UNetUpStage(widths[level], widths[level - 1], widths[level - 1], attentionGates));
        head = new ComputeConv2d(widths[0], OutChannels, 1);
        RegisterComponents();
    }

    protected override Tensor Segment(Tensor input)
    {
        var skips = new List<Tensor> { inConv.call(input) };
        foreach (var stage in down) skips.Add(stage.call(skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < Levels; i++) x = up[i].call(x, skips[Levels - 1 - i]);
        return head.call(x);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var skips = new List<OnnxValue> { graph.Call(inConv, input) };
        foreach (var stage in down) skips.Add(graph.Call(stage, skips[^1]));
        var x = skips[^1];
        for (int i = 0; i < Levels; i++) x = graph.Call(up[i], x, skips[Levels - 1 - i]);
        return graph.Call(head, x);
    }
}
