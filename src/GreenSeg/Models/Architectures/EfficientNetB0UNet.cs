using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// EfficientNet-B0 encoder (Tan &amp; Le, ICML 2019: MBConv with squeeze-excitation, SiLU) under a U-Net
/// decoder in the style of segmentation_models_pytorch: five x2 nearest-upsampling stages of widths 256, 128, 64,
/// 32, 16, each concatenating the encoder features of its resolution and applying two 3x3 ConvNormAct.
/// BaseFeatures = stem width (32); all widths scale with it.
/// </summary>
public sealed class EfficientNetB0UNet : SegmentationModel
{
    private readonly ConvNormAct stem;
    private readonly ModuleList<Sequential> stages;
    private readonly ModuleList<Upsample> upsample;
    private readonly ModuleList<DoubleConv> decoder;
    private readonly ComputeConv2d head;

    // (expansion, kernel, stride, out channels, repeats) of EfficientNet-B0's seven stages.
    private static readonly (int Expansion, int Kernel, int Stride, int Out, int Repeats)[] B0Stages =
    [
        (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
        (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1),
    ];
    // Stages whose output is the last at its resolution (1/2, 1/4, 1/8, 1/16, 1/32).
    private static readonly int[] FeatureStages = [0, 1, 2, 4, 6];
    private static readonly int[] DecoderWidths = [256, 128, 64, 32, 16];

    public EfficientNetB0UNet(ModelOptions options) : base("efficientnet-b0-unet", options, defaultBaseFeatures: 32, totalStride: 32)
    {
        double f = BaseFeatures / 32.0;
        int W(int reference) => Channels.MakeDivisible(reference * f);

        stem = new ConvNormAct(InChannels, W(32), 3, stride: 2, activation: Activation.SiLU);
        stages = nn.ModuleList<Sequential>();
        int channels = W(32);
        var featureChannels = new List<int>();
        for (int s = 0; s < B0Stages.Length; s++)
        {
            var (expansion, kernel, stride, outReference, repeats) = B0Stages[s];
            var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int r = 0; r < repeats; r++)
            {
                blocks.Add(($"block{r + 1}", new InvertedResidual(new InvertedResidual.Config(channels, channels * expansion,
                    W(outReference), kernel, Stride: r == 0 ? stride : 1, Dilation: 1, Activation.SiLU,
                    SeChannels: Math.Max(1, channels / 4), Activation.SiLU, Activation.Sigmoid))));
                channels = W(outReference);
            }
            stages.append(nn.Sequential(blocks.ToArray()));
            if (FeatureStages.Contains(s)) featureChannels.Add(channels);
        }

        upsample = nn.ModuleList<Upsample>();
        decoder = nn.ModuleList<DoubleConv>();
        int decoderIn = featureChannels[^1];
        for (int i = 0; i < DecoderWidths.Length; i++)
        {
            int skip = i + 2 <= featureChannels.Count ? featureChannels[^(i + 2)] : 0;
            int width = Channels.MakeDivisible(DecoderWidths[i] * f);
            upsample.append(nn.Upsample(scale_factor: [2, 2]));
            decoder.append(new DoubleConv(decoderIn + skip, width));
            decoderIn = width;
        }
        head = new ComputeConv2d(decoderIn, OutChannels, 3);
        RegisterComponents();
    }

    protected override Tensor Segment(Tensor input)
    {
        var features = new List<Tensor>();
        var x = stem.call(input);
        for (int s = 0; s < stages.Count; s++)
        {
            x = stages[s].call(x);
            if (FeatureStages.Contains(s)) features.Add(x);
        }
        for (int i = 0; i < decoder.Count; i++)
        {
            x = upsample[i].call(x);
            int skip = features.Count - 2 - i;
            if (skip >= 0) x = cat([x, features[skip]], 1);
            x = decoder[i].call(x);
        }
        return head.call(x);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var features = new List<OnnxValue>();
        var x = graph.Call(stem, input);
        for (int s = 0; s < stages.Count; s++)
        {
            x = graph.Call(stages[s], x);
            if (FeatureStages.Contains(s)) features.Add(x);
        }
        for (int i = 0; i < decoder.Count; i++)
        {
            x = graph.Call(upsample[i], x);
            int skip = features.Count - 2 - i;
            if (skip >= 0) x = graph.Cat([x, features[skip]]);
            x = graph.Call(decoder[i], x);
        }
        return graph.Call(head, x);
    }
}
