using GreenSeg.Models.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// Additive attention gate (Oktay et al., "Attention U-Net", MIDL 2018) on a skip connection, with the
/// gating signal at the skip's resolution: psi = sigmoid(BN(conv(ReLU(BN(W_g g) + BN(W_x x))))); out = x * psi.
/// </summary>
public sealed class AttentionGate : nn.Module<Tensor, Tensor, Tensor>, IOnnxExportable2
{
    private readonly ConvNormAct gateProjection;
    private readonly ConvNormAct skipProjection;
    private readonly nn.Module<Tensor, Tensor> relu;
    private readonly ConvNormAct psi;

    public AttentionGate(long gateChannels, long skipChannels, long intermediateChannels) : base(nameof(AttentionGate))
    {
        gateProjection = new ConvNormAct(gateChannels, intermediateChannels, 1, activation: Activation.None);
        skipProjection = new ConvNormAct(skipChannels, intermediateChannels, 1, activation: Activation.None);
        relu = nn.ReLU();
        psi = new ConvNormAct(intermediateChannels, 1, 1, activation: Activation.Sigmoid);
        RegisterComponents();
    }

    /// <summary>Weights the skip features by the attention coefficients computed from the gating signal.</summary>
    public override Tensor forward(Tensor gate, Tensor skip)
    {
        var coefficients = psi.call(relu.call(gateProjection.call(gate) + skipProjection.call(skip)));
        return skip * coefficients;
    }

    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue gate, OnnxValue skip)
    {
        var coefficients = graph.Call(psi, graph.Call(relu, graph.Call(gateProjection, gate) + graph.Call(skipProjection, skip)));
        return skip * coefficients;
    }
}
