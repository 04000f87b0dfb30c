using GreenSeg.Common;
using GreenSeg.Models.Blocks;
using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Architectures;

/// <summary>
/// ENet (Paszke et al. 2016): initial block (3x3/2 conv concatenated with a max-pool of the input),
/// bottleneck stages with PReLU: stage 1 down to b x 4 channels, stages 2-3 at b x 8 with dilated and
/// asymmetric 5x1/1x5 bottlenecks, then max-unpooling upsampling bottlenecks and a transposed conv
/// to full resolution. BaseFeatures = initial block width (16).
/// </summary>
public sealed class ENet : SegmentationModel
{
    private readonly InitialBlock initial;
    private readonly DownsamplingBottleneck down1;
    private readonly Sequential stage1;
    private readonly DownsamplingBottleneck down2;
    private readonly Sequential stages23;
    private readonly UpsamplingBottleneck up4;
    private readonly Sequential stage4;
    private readonly UpsamplingBottleneck up5;
    private readonly Sequential stage5;
    private readonly ComputeConvTranspose2d head;

    public ENet(ModelOptions options) : base("enet", options, defaultBaseFeatures: 16, totalStride: 8)
    {
        int b = BaseFeatures;
        if (b <= InChannels)
            throw new GreenSegException($"model 'enet': BaseFeatures ({b}) must exceed InChannels ({InChannels}): the initial block concatenates a pooled copy of the input");
        int c1 = 4 * b, c2 = 8 * b;
        initial = new InitialBlock(InChannels, b);
        down1 = new DownsamplingBottleneck(b, c1, dropout: 0.01);
        stage1 = nn.Sequential(Enumerable.Range(1, 4)
            .Select(i => ($"regular{i}", (nn.Module<Tensor, Tensor>)new RegularBottleneck(c1, dropout: 0.01))).ToArray());
        down2 = new DownsamplingBottleneck(c1, c2, dropout: 0.1);
        var middle = new List<(string, nn.Module<Tensor, Tensor>)>();
        foreach (int stage in new[] { 2, 3 })
        {
            // The ENet stage-2/3 pattern: regular, dilated 2, asymmetric 5, dilated 4, regular, dilated 8, asymmetric 5, dilated 16.
            (int Dilation, bool Asymmetric)[] pattern = [(1, false), (2, false), (1, true), (4, false), (1, false), (8, false), (1, true), (16, false)];
            for (int i = 0; i < pattern.Length; i++)
                middle.Add(($"stage{stage}_{i + 1}", new RegularBottleneck(c2, 0.1, pattern[i].Dilation, pattern[i].Asymmetric)));
        }
        stages23 = nn.Sequential(middle.ToArray());
        up4 = new UpsamplingBottleneck(c2, c1, dropout: 0.1);
        stage4 = nn.Sequential(("regular1", new RegularBottleneck(c1, 0.1)), ("regular2", new RegularBottleneck(c1, 0.1)));
        up5 = new UpsamplingBottleneck(c1, b, dropout: 0.1);
        stage5 = nn.Sequential(("regular1", new RegularBottleneck(b, 0.1)));
        head = ComputeConvTranspose2d.Doubling(b, OutChannels, 3, bias: false);
        RegisterComponents();
    }

    protected override Tensor Segment(Tensor input)
    {
        var x = initial.call(input);
        var (x1, indices1) = down1.call(x);
        x = stage1.call(x1);
        var (x2, indices2) = down2.call(x);
        x = stages23.call(x2);
        x = stage4.call(up4.call(x, indices2));
        x = stage5.call(up5.call(x, indices1));
        return head.call(x);
    }

    protected override OnnxValue Segment(OnnxGraph graph, OnnxValue input)
    {
        var x = graph.Call(initial, input);
        var (x1, indices1) = down1.ToOnnx(graph, x);
        x = graph.Call(stage1, x1);
        var (x2, indices2) = down2.ToOnnx(graph, x);
        x = graph.Call(stages23, x2);
        x = graph.Call(stage4, graph.Call(up4, x, indices2));
        x = graph.Call(stage5, graph.Call(up5, x, indices1));
        return graph.Call(head, x);
    }

    private sealed class InitialBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
    {
        private readonly ComputeConv2d conv;
        private readonly MaxPool2d pool;
        private readonly FinalizerSafeBatchNorm2d bn;
        private readonly nn.Module<Tensor, Tensor> act;

        public InitialBlock(int inChannels, int outChannels) : base("ENetInitial")
        {
            conv = new ComputeConv2d(inChannels, outChannels - inChannels, 3, stride: 2, bias: false);
            pool = nn.MaxPool2d(2);
            bn = new FinalizerSafeBatchNorm2d(outChannels);
            act = nn.PReLU(1, 0.25);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => act.call(bn.call(cat([conv.call(input), pool.call(input)], 1)));

        public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) =>
            graph.Call(act, graph.Call(bn, graph.Cat([graph.Call(conv, input), graph.Call(pool, input)])));
    }

    /// <summary>1x1 reduce, main conv (3x3 dilated or 5x1 + 1x5), 1x1 expand, dropout, residual add, PReLU.</summary>
    private sealed class RegularBottleneck : nn.Module<Tensor, Tensor>, IOnnxExportable
    {
        private readonly Sequential branch;
        private readonly nn.Module<Tensor, Tensor> act;

        public RegularBottleneck(int channels, double dropout, int dilation = 1, bool asymmetric = false) : base("ENetRegular")
        {
            int inner = Math.Max(1, channels / 4);
            var layers = new List<(string, nn.Module<Tensor, Tensor>)> { ("reduce", new ConvNormAct(channels, inner, 1, activation: Activation.PReLU)) };
            if (asymmetric)
            {
                layers.Add(("conv5x1", new ConvNormAct(inner, inner, (5, 1), activation: Activation.PReLU)));
                layers.Add(("conv1x5", new ConvNormAct(inner, inner, (1, 5), activation: Activation.PReLU)));
            }
            else
            {
                layers.Add(("conv", new ConvNormAct(inner, inner, 3, dilation: dilation, activation: Activation.PReLU)));
            }
            layers.Add(("expand", new ConvNormAct(inner, channels, 1, activation: Activation.None)));
            layers.Add(("dropout", nn.Dropout2d(dropout)));
            branch = nn.Sequential(layers.ToArray());
            act = nn.PReLU(1, 0.25);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => act.call(input + branch.call(input));

        public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) => graph.Call(act, input + graph.Call(branch, input));
    }

    /// <summary>Main path: 2x2 max-pool (indices kept for unpooling) zero-padded to the new width; branch: 2x2/2 conv, 3x3, 1x1.</summary>
    private sealed class DownsamplingBottleneck : nn.Module<Tensor, (Tensor Output, Tensor Indices)>
    {
        private readonly Sequential branch;
        private readonly nn.Module<Tensor, Tensor> act;
        private readonly long extraChannels;

        public DownsamplingBottleneck(int inChannels, int outChannels, double dropout) : base("ENetDownsampling")
        {
            int inner = Math.Max(1, inChannels / 4);
            branch = nn.Sequential(
                ("reduce", new ConvNormAct(inChannels, inner, 2, stride: 2, activation: Activation.PReLU)),
                ("conv", new ConvNormAct(inner, inner, 3, activation: Activation.PReLU)),
                ("expand", new ConvNormAct(inner, outChannels, 1, activation: Activation.None)),
                ("dropout", nn.Dropout2d(dropout)));
            act = nn.PReLU(1, 0.25);
            extraChannels = outChannels - inChannels;
            RegisterComponents();
        }

        public override (Tensor Output, Tensor Indices) forward(Tensor input)
        {
            var (pooled, indices) = nn.functional.max_pool2d_with_indices(input, [2, 2], [2, 2], [0, 0], [1, 1]);
            var main = nn.functional.pad(pooled, [0, 0, 0, 0, 0, extraChannels]);
            return (act.call(main + branch.call(input)), indices);
        }

        /// <summary>As <see cref="forward"/>; the indices are ONNX MaxPool's (flattened over the whole input), which MaxUnpool reads.</summary>
        public (OnnxValue Output, OnnxValue Indices) ToOnnx(OnnxGraph graph, OnnxValue input)
        {
            using var scope = graph.Scope(this);
            var (pooled, indices) = graph.MaxPoolWithIndices(input, [2, 2], [2, 2]);
            var main = graph.PadChannels(pooled, extraChannels);
            return (graph.Call(act, main + graph.Call(branch, input)), indices);
        }
    }

    /// <summary>Main path: 1x1 conv + BN, max-unpool with the matching indices; branch: 1x1, 2x2/2 transposed conv, 1x1.</summary>
    private sealed class UpsamplingBottleneck : nn.Module<Tensor, Tensor, Tensor>, IOnnxExportable2
    {
        private readonly ConvNormAct mainProjection;
        private readonly ConvNormAct reduce;
        private readonly ComputeConvTranspose2d upConv;
        private readonly FinalizerSafeBatchNorm2d upNorm;
        private readonly nn.Module<Tensor, Tensor> upAct;
        private readonly Sequential expand;
        private readonly nn.Module<Tensor, Tensor> act;

        public UpsamplingBottleneck(int inChannels, int outChannels, double dropout) : base("ENetUpsampling")
        {
            int inner = Math.Max(1, inChannels / 4);
            mainProjection = new ConvNormAct(inChannels, outChannels, 1, activation: Activation.None);
            reduce = new ConvNormAct(inChannels, inner, 1, activation: Activation.PReLU);
            upConv = ComputeConvTranspose2d.Doubling(inner, inner, 2, bias: false);
            upNorm = new FinalizerSafeBatchNorm2d(inner);
            upAct = nn.PReLU(1, 0.25);
            expand = nn.Sequential(
                ("expand", new ConvNormAct(inner, outChannels, 1, activation: Activation.None)),
                ("dropout", nn.Dropout2d(dropout)));
            act = nn.PReLU(1, 0.25);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input, Tensor indices)
        {
            var projected = mainProjection.call(input);
            long[] size = [projected.shape[0], projected.shape[1], 2 * input.shape[2], 2 * input.shape[3]];
            // Indices are positions in each channel plane, valid in any memory layout.
            var main = nn.functional.max_unpool2d(projected, indices, [2, 2], [2, 2], [0, 0], size);
            var branch = expand.call(upAct.call(upNorm.call(upConv.call(reduce.call(input)))));
            return act.call(main + branch);
        }

        public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input, OnnxValue indices)
        {
            var projected = graph.Call(mainProjection, input);
            // The output is twice the input's height and width, as above: (in - 1) x 2 + 2.
            var main = graph.MaxUnpool(projected, indices, [2, 2], [2, 2]);
            var branch = graph.Call(expand, graph.Call(upAct, graph.Call(upNorm, graph.Call(upConv, graph.Call(reduce, input)))));
            return graph.Call(act, main + branch);
        }
    }
}
