using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// MobileNetV3-Small backbone (Howard et al., ICCV 2019: inverted residuals, squeeze-excitation with
/// hard-sigmoid, hard-swish) with the Lite R-ASPP head. As for segmentation in the paper, the last
/// stage is dilated instead of strided (output stride 16); the head mixes the 1/8 features with the
/// gated 1/16 features. BaseFeatures = stem width (16); all widths scale with it.
/// </summary>
public sealed class MobileNetV3Lraspp : SegmentationModel
{
    private readonly ConvNormAct stem;
    private readonly Sequential lowStages;    // to stride 8
    private readonly Sequential highStages;   // stride 16, dilated tail, 1x1 expansion
    private readonly ConvNormAct headProjection;
    private readonly Sequential headScale;
    private readonly Upsample headUpsample;
    private readonly ComputeConv2d lowClassifier;
    private readonly ComputeConv2d highClassifier;
    private readonly Upsample outputUpsample;

    // (kernel, expanded, out, squeeze-excitation, activation, stride) of MobileNetV3-Small; the last three are dilated.
    private static readonly (int Kernel, int Expanded, int Out, bool Se, Activation Act, int Stride)[] SmallBlocks =
    [
        (3, 16, 16, true, Activation.ReLU, 2),
        (3, 72, 24, false, Activation.ReLU, 2),
        (3, 88, 24, false, Activation.ReLU, 1),
        (5, 96, 40, true, Activation.HardSwish, 2),
        (5, 240, 40, true, Activation.HardSwish, 1),
        (5, 240, 40, true, Activation.HardSwish, 1),
        (5, 120, 48, true, Activation.HardSwish, 1),
        (5, 144, 48, true, Activation.HardSwish, 1),
        (5, 288, 96, true, Activation.HardSwish, 2),
        (5, 576, 96, true, Activation.HardSwish, 1),
        (5, 576, 96, true, Activation.HardSwish, 1),
    ];
    private const int LowStageBlocks = 3;   // blocks up to the last one at stride 8
    private const int DilatedFrom = 8;
    private const int HeadChannels = 128;

    public MobileNetV3Lraspp(ModelOptions options) : base("mobilenetv3-lraspp", options, defaultBaseFeatures: 16, totalStride: 16)
    {
        double f = BaseFeatures / 16.0;
        int W(int reference) => Channels.MakeDivisible(reference * f);

        stem = new ConvNormAct(InChannels, W(16), 3, stride: 2, activation: Activation.HardSwish);
        var low = new List<(string, nn.Module<Tensor, Tensor>)>();
        var high = new List<(string, nn.Module<Tensor, Tensor>)>();
        int channels = W(16);
        for (int i = 0; i < SmallBlocks.Length; i++)
        {
            var b = SmallBlocks[i];
            bool dilated = i >= DilatedFrom;
            int expanded = W(b.Expanded);
            var block = new InvertedResidual(new InvertedResidual.Config(channels, expanded, W(b.Out), b.Kernel,
                Stride: dilated ? 1 : b.Stride, Dilation: dilated ? 2 : 1, b.Act,
                SeChannels: b.Se ? Channels.MakeDivisible(expanded / 4.0) : 0, Activation.ReLU, Activation.HardSigmoid));
            (i < LowStageBlocks ? low : high).Add(($"block{i + 1}", block));
            channels = W(b.Out);
        }
        int lowChannels = W(SmallBlocks[LowStageBlocks - 1].Out);
        int highChannels = 6 * channels;
        high.Add(("expand", new ConvNormAct(channels, highChannels, 1, activation: Activation.HardSwish)));
        lowStages = nn.Sequential(low);
        highStages = nn.Sequential(high);

        int headChannels = Channels.MakeDivisible(HeadChannels * f);
        headProjection = new ConvNormAct(highChannels, headChannels, 1);
        headScale = nn.Sequential(
            ("pool", nn.AdaptiveAvgPool2d(1)),
            ("conv", new ConvNormAct(highChannels, headChannels, 1, activation: Activation.Sigmoid, batchNorm: false)));
        headUpsample = nn.Upsample(scale_factor: [2, 2], mode: UpsampleMode.Bilinear, align_corners: false);
        lowClassifier = new ComputeConv2d(lowChannels, OutChannels, 1);
        highClassifier = new ComputeConv2d(headChannels, OutChannels, 1);
        outputUpsample = nn.Upsample(scale_factor: [8, 8], mode: UpsampleMode.Bilinear, align_corners: false);
        RegisterComponents();
    }

    protected override Tensor Segment(Tensor input)
    {
        var low = lowStages.call(stem.call(input));
        var high = highStages.call(low);
        var gated = headProjection.call(high) * headScale.call(high);
        var logits = lowClassifier.call(low) + highClassifier.call(headUpsample.call(gated));
        return outputUpsample.call(logits);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var low = graph.Call(lowStages, graph.Call(stem, input));
        var high = graph.Call(highStages, low);
        var gated = graph.Call(headProjection, high) * graph.Call(headScale, high);
        var logits = graph.Call(lowClassifier, low) + graph.Call(highClassifier, graph.Call(headUpsample, gated));
        return graph.Call(outputUpsample, logits);
    }
}
