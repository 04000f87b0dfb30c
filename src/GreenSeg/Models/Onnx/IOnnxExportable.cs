namespace GreenSeg.Models.Onnx;

/// <summary>
/// A tensor of an ONNX graph under construction (<see cref="OnnxGraph"/>). <c>+</c> and <c>*</c> add Add and Mul nodes,
/// so a block's graph description reads like its TorchSharp forward (<c>skip * coefficients</c>).
/// </summary>
public sealed class OnnxValue
{
    internal OnnxValue(OnnxGraph graph, string name)
    {
        Graph = graph;
        Name = name;
    }

    public OnnxGraph Graph { get; }
    /// <summary>The tensor's name in the graph.</summary>
    public string Name { get; }

    public static OnnxValue operator +(OnnxValue a, OnnxValue b) => a.Graph.Add(a, b);
    public static OnnxValue operator *(OnnxValue a, OnnxValue b) => a.Graph.Mul(a, b);

    public override string ToString() => Name;
}

/// <summary>
/// A module with one input that describes its eval-mode forward pass as ONNX nodes: implemented next to the module's
/// <c>forward</c>, in the same steps, so the two descriptions are read (and changed) together. <see cref="OnnxGraph.Call(TorchSharp.torch.nn.Module{TorchSharp.torch.Tensor, TorchSharp.torch.Tensor}, OnnxValue)"/>
/// dispatches to it; TorchSharp's own modules (activations, pooling, upsampling, Sequential) are described by the graph.
/// </summary>
public interface IOnnxExportable
{
    OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input);
}

/// <summary>As <see cref="IOnnxExportable"/> for modules with two inputs (a decoder stage and its skip, a gate and its signal).</summary>
public interface IOnnxExportable2
{
    OnnxValue ToOnnx(OnnxGraph graph, OnnxValue first, OnnxValue second);
}
