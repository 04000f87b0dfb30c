using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// Attention Squeeze U-Net (Pennisi et al., J. Digit. Imaging 2022) as the study used it (2.59 M parameters
/// at width 64): stem 3x3/2 conv to 64 + ReLU, 3x3/2 max-pool; fire modules 16/64, 16/64, pool, 32/128,
/// 32/128, pool, 48/192, 48/192, 64/256, 64/256 (squeeze/expand); four decoder blocks of transposed 3x3
/// conv (stride 1, 1, 2, 2), attention gate on the skip, concatenation and a fire module; head: x2
/// upsample, concat with the stem output, 3x3 conv to 64 + ReLU, x2 upsample, 1x1 conv.
/// BaseFeatures scales every width (64 = the published network). A <see cref="FireNetShape"/> changes the
/// fire modules per encoder group (published: 2) and the squeeze ratio (squeeze channels per fire output
/// channel, for every fire module, decoder's included); its stages are the published ones.
/// </summary>
public sealed class AttSqueezeUNet : SegmentationModel
{
    private readonly ConvNormAct stem;
    private readonly MaxPool2d pool1;
    private readonly Sequential fires12;
    private readonly MaxPool2d pool2;
    private readonly Sequential fires34;
    private readonly MaxPool2d pool3;
    private readonly Sequential fires56;
    private readonly Sequential fires78;
    private readonly ModuleList<DecoderBlock> decoder;
    private readonly Upsample upsample1;
    private readonly ConvNormAct fuse;
    private readonly Upsample upsample2;
    private readonly ComputeConv2d head;

    public AttSqueezeUNet(ModelOptions options) : base("att-squeeze-unet", options, defaultBaseFeatures: 64, totalStride: 16)
    {
        double f = BaseFeatures / 64.0;
        var shape = options.Shape;
        int W(int reference) => Channels.Scale(reference, f);
        // The published squeeze widths, or the shape's ratio of the fire's output (twice its expand width).
        long Squeeze(int squeeze, int expand) => shape.SqueezeRatio is null ? W(squeeze) : shape.Squeeze(2L * W(expand), 0);
        int fires = shape.FiresPerStage ?? 2;
        int named = 0;
        // A group of fire modules of one width: the first takes the group's input, the others the group's output.
        Sequential Group(long inChannels, int squeeze, int expand) => nn.Sequential([.. Enumerable.Range(0, fires).Select(i =>
            ($"fire{++named}", (nn.Module<Tensor, Tensor>)new FireModule(i == 0 ? inChannels : 2 * W(expand), Squeeze(squeeze, expand), W(expand))))]);
        MaxPool2d Pool() => nn.MaxPool2d(3, 2, 1);

        stem = new ConvNormAct(InChannels, W(64), 3, stride: 2, batchNorm: false);
        pool1 = Pool();
        fires12 = Group(W(64), 16, 64);
        pool2 = Pool();
        fires34 = Group(2 * W(64), 32, 128);
        pool3 = Pool();
        fires56 = Group(2 * W(128), 48, 192);
        fires78 = Group(2 * W(192), 64, 256);

        decoder = nn.ModuleList<DecoderBlock>(
            new DecoderBlock(2 * W(256), W(192), stride: 1, skipChannels: 2 * W(192), Squeeze(48, 192), W(192)),
            new DecoderBlock(2 * W(192), W(128), stride: 1, skipChannels: 2 * W(128), Squeeze(32, 128), W(128)),
            new DecoderBlock(2 * W(128), W(64), stride: 2, skipChannels: 2 * W(64), Squeeze(16, 64), W(64)),
            new DecoderBlock(2 * W(64), W(32), stride: 2, skipChannels: W(64), Squeeze(16, 32), W(32)));
        upsample1 = nn.Upsample(scale_factor: [2, 2]);
        fuse = new ConvNormAct(2 * W(32) + W(64), W(64), 3, batchNorm: false);
        upsample2 = nn.Upsample(scale_factor: [2, 2]);
        head = new ComputeConv2d(W(64), OutChannels, 1);
        RegisterComponents();
    }

    protected override Tensor Segment(Tensor input)
    {
        // Skips as in the published model: the pooled tensors feed the decoder.
        var stride2 = stem.call(input);
        var stride4 = pool1.call(stride2);
        var stride8 = pool2.call(fires12.call(stride4));
        var stride16 = pool3.call(fires34.call(stride8));
        var deep = fires56.call(stride16);
        var x = decoder[0].call(fires78.call(deep), deep);
        x = decoder[1].call(x, stride16);
        x = decoder[2].call(x, stride8);
        x = decoder[3].call(x, stride4);
        x = fuse.call(cat([upsample1.call(x), stride2], 1));
        return head.call(upsample2.call(x));
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var stride2 = graph.Call(stem, input);
        var stride4 = graph.Call(pool1, stride2);
        var stride8 = graph.Call(pool2, graph.Call(fires12, stride4));
        var stride16 = graph.Call(pool3, graph.Call(fires34, stride8));
        var deep = graph.Call(fires56, stride16);
        var x = graph.Call(decoder[0], graph.Call(fires78, deep), deep);
        x = graph.Call(decoder[1], x, stride16);
        x = graph.Call(decoder[2], x, stride8);
        x = graph.Call(decoder[3], x, stride4);
        x = graph.Call(fuse, graph.Cat([graph.Call(upsample1, x), stride2]));
        return graph.Call(head, graph.Call(upsample2, x));
    }

    /// <summary>Transposed 3x3 conv, attention gate (intermediate width half the gate's) on the skip, concat, fire module.</summary>
    private sealed class DecoderBlock : nn.Module<Tensor, Tensor, Tensor>, IOnnxExportable2
    {
        private readonly ComputeConvTranspose2d deconv;
        private readonly AttentionGate gate;
        private readonly FireModule fire;

        public DecoderBlock(long inChannels, long outChannels, int stride, long skipChannels, long squeeze, long expand)
            : base("AttSqueezeDecoderBlock")
        {
            deconv = stride == 1
                ? new ComputeConvTranspose2d(inChannels, outChannels, 3, 1, padding: 1)
                : ComputeConvTranspose2d.Doubling(inChannels, outChannels, 3);
            gate = new AttentionGate(outChannels, skipChannels, Math.Max(1, outChannels / 2));
            fire = new FireModule(outChannels + skipChannels, squeeze, expand);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input, Tensor skip)
        {
            var upsampled = deconv.call(input);
            return fire.call(cat([upsampled, gate.call(upsampled, skip)], 1));
        }

        public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input, OnnxValue skip)
        {
            var upsampled = graph.Call(deconv, input);
            return graph.Call(fire, graph.Cat([upsampled, graph.Call(gate, upsampled, skip)]));
        }
    }
}
