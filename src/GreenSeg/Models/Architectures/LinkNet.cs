using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// LinkNet (Chaurasia &amp; Culurciello, VCIP 2017): ResNet-18 encoder (7x7/2 conv, max-pool, four stages
/// of two basic blocks, widths b..8b) whose outputs are added to the decoder (no concatenation); each
/// decoder block is 1x1 reduce to a quarter, 3x3/2 transposed conv, 1x1 expand; head: 3x3/2 transposed
/// conv, 3x3 conv, 1x1 classifier. BaseFeatures = first stage width (64).
/// </summary>
public sealed class LinkNet : SegmentationModel
{
    private const int Stages = 4;

    private readonly ConvNormAct stem;
    private readonly MaxPool2d stemPool;
    private readonly ModuleList<Sequential> encoder;
    private readonly ModuleList<Sequential> decoder;
    private readonly Sequential head;

    public LinkNet(ModelOptions options) : base("linknet", options, defaultBaseFeatures: 64, totalStride: 32)
    {
        int b = BaseFeatures;
        int[] widths = [b, b, 2 * b, 4 * b, 8 * b];
        stem = new ConvNormAct(InChannels, b, 7, stride: 2);
        stemPool = nn.MaxPool2d(3, 2, 1);
        encoder = nn.ModuleList<Sequential>();
        decoder = nn.ModuleList<Sequential>();
        for (int stage = 1; stage <= Stages; stage++)
        {
            int stride = stage == 1 ? 1 : 2;
            encoder.append(nn.Sequential(
                ("block1", new BasicBlock(widths[stage - 1], widths[stage], stride)),
                ("block2", new BasicBlock(widths[stage], widths[stage], 1))));
            decoder.append(DecoderBlock(widths[stage], widths[stage - 1]));
        }
        int half = Math.Max(1, b / 2);
        head = nn.Sequential(
            ("upconv", ComputeConvTranspose2d.Doubling(b, half, 3, bias: false)),
            ("bn", new FinalizerSafeBatchNorm2d(half)),
            ("relu", nn.ReLU()),
            ("conv", new ConvNormAct(half, half, 3)),
            ("classifier", new ComputeConv2d(half, OutChannels, 1)));
        RegisterComponents();
    }

    private static Sequential DecoderBlock(int inChannels, int outChannels)
    {
        int inner = Math.Max(1, inChannels / 4);
        return nn.Sequential(
            ("reduce", new ConvNormAct(inChannels, inner, 1)),
            ("upconv", ComputeConvTranspose2d.Doubling(inner, inner, 3, bias: false)),
            ("bn", new FinalizerSafeBatchNorm2d(inner)),
            ("relu", nn.ReLU()),
            ("expand", new ConvNormAct(inner, outChannels, 1)));
    }

    protected override Tensor Segment(Tensor input)
    {
        var features = new List<Tensor> { stemPool.call(stem.call(input)) };
        foreach (var stage in encoder) features.Add(stage.call(features[^1]));
        // features[k] is the encoder output of stage k (k = 1..4) at stride 2^(k+1); decoder k maps it to stage k-1's.
        var x = features[Stages];
        for (int stage = Stages; stage >= 2; stage--)
            x = decoder[stage - 1].call(x) + features[stage - 1];
        return head.call(decoder[0].call(x));
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var features = new List<OnnxValue> { graph.Call(stemPool, graph.Call(stem, input)) };
        foreach (var stage in encoder) features.Add(graph.Call(stage, features[^1]));
        var x = features[Stages];
        for (int stage = Stages; stage >= 2; stage--)
            x = graph.Call(decoder[stage - 1], x) + features[stage - 1];
        return graph.Call(head, graph.Call(decoder[0], x));
    }

    /// <summary>ResNet basic block: two 3x3 ConvNormAct, projection shortcut when the shape changes.</summary>
    private sealed class BasicBlock : nn.Module<Tensor, Tensor>, IOnnxExportable, IPrunableBlock
    {
        private readonly ConvNormAct conv1;
        private readonly ConvNormAct conv2;
        private readonly ConvNormAct? shortcut;
        private readonly nn.Module<Tensor, Tensor> relu;

        public BasicBlock(int inChannels, int outChannels, int stride) : base("ResNetBasicBlock")
        {
            (InternalIndex, long middle) = InternalWidthPlan.Take(outChannels);
            conv1 = new ConvNormAct(inChannels, middle, 3, stride);
            conv2 = new ConvNormAct(middle, outChannels, 3, activation: Activation.None);
            if (stride != 1 || inChannels != outChannels)
                shortcut = new ConvNormAct(inChannels, outChannels, 1, stride, activation: Activation.None);
            relu = nn.ReLU();
            RegisterComponents();
        }

        public int InternalIndex { get; }
        public string BlockKind => "ResNetBasicBlock";
        public InternalChannelSet InternalChannels => new(conv1, [], [conv2.Conv]);

        public override Tensor forward(Tensor input) =>
            relu.call(conv2.call(conv1.call(input)) + (shortcut is null ? input : shortcut.call(input)));

        public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) =>
            graph.Call(relu, graph.Call(conv2, graph.Call(conv1, input)) + (shortcut is null ? input : graph.Call(shortcut, input)));
    }
}
