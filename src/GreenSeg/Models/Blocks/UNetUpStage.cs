using GreenSeg.Models.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// U-Net decoder stage: 2x2 transposed convolution up to the skip's width, optional attention gate on
/// the skip, concatenation, two 3x3 ConvNormAct.
/// </summary>
public sealed class UNetUpStage : nn.Module<Tensor, Tensor, Tensor>, IOnnxExportable2
{
    private readonly ComputeConvTranspose2d up;
    private readonly AttentionGate? gate;
    private readonly DoubleConv conv;

    public UNetUpStage(long inChannels, long skipChannels, long outChannels, bool attentionGate) : base(nameof(UNetUpStage))
    {
        up = ComputeConvTranspose2d.Doubling(inChannels, skipChannels);
        if (attentionGate) gate = new AttentionGate(skipChannels, skipChannels, Math.Max(1, skipChannels / 2));
        conv = new DoubleConv(2 * skipChannels, outChannels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input, Tensor skip)
    {
        var upsampled = up.call(input);
        var gated = gate is null ? skip : gate.call(upsampled, skip);
        return conv.call(cat([gated, upsampled], 1));
    }

    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input, OnnxValue skip)
    {
        var upsampled = graph.Call(up, input);
        var gated = gate is null ? skip : graph.Call(gate, upsampled, skip);
        return graph.Call(conv, graph.Cat([gated, upsampled]));
    }
}
