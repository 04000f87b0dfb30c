using GreenSeg.Models.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// Inverted residual bottleneck shared by MobileNetV3 (bneck) and EfficientNet (MBConv): optional 1x1
/// expansion, depthwise kxk (stride or dilation), optional squeeze-excitation, linear 1x1 projection,
/// residual when shape is kept. (EfficientNet's stochastic depth is left out.)
/// </summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>, IOnnxExportable, IPrunableBlock
{
    private readonly ConvNormAct? expand;
    private readonly ConvNormAct depthwise;
    private readonly SqueezeExcitation? se;
    private readonly ConvNormAct project;
    private readonly bool residual;

    public record struct Config(int InChannels, int ExpandedChannels, int OutChannels, int KernelSize, int Stride,
        int Dilation, Activation Activation, int SeChannels, Activation SeActivation, Activation SeGate);

    public InvertedResidual(Config c) : base(nameof(InvertedResidual))
    {
        if (c.ExpandedChannels != c.InChannels)
        {
            // The expanded channels are internal only when an expansion convolution produces them.
            (InternalIndex, long expanded) = InternalWidthPlan.Take(c.ExpandedChannels);
            c = c with { ExpandedChannels = (int)expanded };
            expand = new ConvNormAct(c.InChannels, c.ExpandedChannels, 1, activation: c.Activation);
        }
        else InternalIndex = -1;
        depthwise = new ConvNormAct(c.ExpandedChannels, c.ExpandedChannels, c.KernelSize, c.Stride, c.Dilation,
            groups: c.ExpandedChannels, activation: c.Activation);
        if (c.SeChannels > 0)
            se = new SqueezeExcitation(c.ExpandedChannels, c.SeChannels, c.SeActivation, c.SeGate);
        project = new ConvNormAct(c.ExpandedChannels, c.OutChannels, 1, activation: Activation.None);
        residual = c.Stride == 1 && c.InChannels == c.OutChannels;
        RegisterComponents();
    }

    /// <summary>The block's index among the prunable blocks; -1 without an expansion (then nothing inside it is internal).</summary>
    public int InternalIndex { get; }
    public string BlockKind => nameof(InvertedResidual);
    public InternalChannelSet InternalChannels =>
        expand is null ? throw new InvalidOperationException("an inverted residual without expansion has no internal channels")
        : se is null ? new(expand, [depthwise], [project.Conv])
        : new(expand, [depthwise, se.Expand], [se.Reduce.Conv, project.Conv]);

    public override Tensor forward(Tensor input)
    {
        var x = expand is null ? input : expand.call(input);
        x = depthwise.call(x);
        if (se is not null) x = se.call(x);
        x = project.call(x);
        return residual ? x + input : x;
    }

    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input)
    {
        var x = expand is null ? input : graph.Call(expand, input);
        x = graph.Call(depthwise, x);
        if (se is not null) x = graph.Call(se, x);
        x = graph.Call(project, x);
        return residual ? x + input : x;
    }
}
