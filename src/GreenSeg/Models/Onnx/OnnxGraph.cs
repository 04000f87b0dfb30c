using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Onnx;

/// <summary>
/// Builds an ONNX graph (opset <see cref="Opset"/>) from a model's modules: each block emits its nodes and its weights
/// as float32 initializers (<see cref="IOnnxExportable"/>), TorchSharp's own modules are described here
/// (<see cref="Call(nn.Module{Tensor, Tensor}, OnnxValue)"/>). Nodes and initializers are named after the module that
/// emitted them (its state-dict path, e.g. <c>inConv.conv1.conv.weight</c>), so the graph can be read against the model.
/// </summary>
public sealed class OnnxGraph
{
    /// <summary>The ONNX operator set every exported model declares (ai.onnx 17, IR version 8).</summary>
    public const int Opset = 17;
    public const long IrVersion = 8;

    private readonly GraphProto _graph = new();
    private readonly Dictionary<nn.Module, string> _moduleNames = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<string> _scope = [];

    /// <summary>A graph for <paramref name="root"/>'s modules (their names come from its named_modules).</summary>
    public OnnxGraph(nn.Module root, string name)
    {
        foreach (var (path, module) in root.named_modules()) _moduleNames.TryAdd(module, path);
        _graph.Name = name;
    }

    internal GraphProto Proto => _graph;

    /// <summary>Names the nodes and initializers emitted until disposed after <paramref name="module"/>.</summary>
    public IDisposable Scope(nn.Module module)
    {
        _scope.Add(_moduleNames.TryGetValue(module, out string? path) && path.Length > 0 ? path : module.GetName());
        return new ScopeExit(this);
    }

    private sealed class ScopeExit(OnnxGraph graph) : IDisposable
    {
        public void Dispose() => graph._scope.RemoveAt(graph._scope.Count - 1);
    }

    private string Prefix => _scope.Count == 0 ? "" : _scope[^1];

    private string Unique(string name)
    {
        if (_names.Add(name)) return name;
        for (int k = 2; ; k++)
            if (_names.Add($"{name}_{k}")) return $"{name}_{k}";
    }

    // ---- inputs, outputs, initializers -------------------------------------------------------------------------

    /// <summary>A float input [N, channels, H, W] with N, H and W dynamic.</summary>
    public OnnxValue Input(string name, long channels)
    {
        _names.Add(name);
        _graph.Input.Add(ImageValueInfo(name, channels));
        return new OnnxValue(this, name);
    }

    /// <summary>Makes <paramref name="value"/> the graph's output under <paramref name="name"/>: float [N, channels, H, W].</summary>
    public void Output(OnnxValue value, string name, long channels)
    {
        if (value.Name != name)
        {
            if (!_names.Add(name)) throw new InvalidOperationException($"ONNX export: the name '{name}' is taken");
            foreach (var node in _graph.Node)
            {
                for (int i = 0; i < node.Output.Count; i++) if (node.Output[i] == value.Name) node.Output[i] = name;
                for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == value.Name) node.Input[i] = name;
            }
        }
        _graph.Output.Add(ImageValueInfo(name, channels));
    }

    internal static ValueInfoProto ImageValueInfo(string name, long channels)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = channels });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "H" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "W" });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>A float32 initializer named <c>scope.name</c> holding <paramref name="tensor"/>'s values (copied, float32, contiguous).</summary>
    public OnnxValue Initializer(string name, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = tensor.detach().cpu().to_type(ScalarType.Float32).contiguous();
        return Initializer(name, values.data<float>().ToArray(), values.shape);
    }

    public OnnxValue Initializer(string name, float[] values, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public OnnxValue Int64Initializer(string name, long[] values, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    private OnnxValue AddInitializer(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> data, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little endian");
        string full = Unique(Prefix.Length == 0 ? name : $"{Prefix}.{name}");
        var tensor = new TensorProto { Name = full, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return new OnnxValue(this, full);
    }

    // ---- nodes -------------------------------------------------------------------------------------------------

    /// <summary>Adds a node; a null input is an omitted optional input. Returns its outputs.</summary>
    public OnnxValue[] Node(string opType, IReadOnlyList<OnnxValue?> inputs, int outputs, params AttributeProto[] attributes)
    {
        string name = Unique(Prefix.Length == 0 ? opType : $"{Prefix}/{opType}");
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs.Select(i => i?.Name ?? ""));
        var results = new OnnxValue[outputs];
        for (int k = 0; k < outputs; k++)
        {
            string output = k == 0 ? name : Unique($"{name}:{k}");
            node.Output.Add(output);
            results[k] = new OnnxValue(this, output);
        }
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return results;
    }

    public OnnxValue Node(string opType, IReadOnlyList<OnnxValue?> inputs, params AttributeProto[] attributes) =>
        Node(opType, inputs, 1, attributes)[0];

    public static AttributeProto Attribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attribute(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Attribute(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    // ---- modules -----------------------------------------------------------------------------------------------

    /// <summary>
    /// The eval-mode forward pass of <paramref name="module"/> on <paramref name="input"/>: its own description
    /// (<see cref="IOnnxExportable"/>), or TorchSharp's Sequential, activations, pooling, upsampling and dropout (identity).
    /// </summary>
    public OnnxValue Call(nn.Module<Tensor, Tensor> module, OnnxValue input)
    {
        using var scope = Scope(module);
        return module switch
        {
            IOnnxExportable exportable => exportable.ToOnnx(this, input),
            Sequential sequential => sequential.children().Aggregate(input, (x, child) => Call(AsUnary(child), x)),
            ReLU => Relu(input),
            ReLU6 => Clip(input, 0, 6),
            Hardswish => Node("HardSwish", [input]),
            // torch: relu6(x + 3) / 6
            Hardsigmoid => Node("HardSigmoid", [input], Attribute("alpha", 1f / 6), Attribute("beta", 0.5f)),
            SiLU => input * Sigmoid(input),
            TorchSharp.Modules.Sigmoid => Sigmoid(input),
            PReLU prelu => Node("PRelu", [input, Initializer("weight", prelu.weight)]),
            MaxPool2d pool => MaxPool(input, pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode),
            AdaptiveAvgPool2d pool when pool.output_size.All(s => s == 1) => Node("GlobalAveragePool", [input]),
            Upsample upsample => Upsample(input, upsample),
            Dropout2d or Dropout or Identity => input,
            _ => throw new NotSupportedException($"ONNX export: no description of {module.GetType().Name} ('{Prefix}')"),
        };
    }

    /// <summary>The eval-mode forward pass of a two-input module (<see cref="IOnnxExportable2"/>).</summary>
    public OnnxValue Call(nn.Module<Tensor, Tensor, Tensor> module, OnnxValue first, OnnxValue second)
    {
        using var scope = Scope(module);
        return module is IOnnxExportable2 exportable
            ? exportable.ToOnnx(this, first, second)
            : throw new NotSupportedException($"ONNX export: no description of {module.GetType().Name} ('{Prefix}')");
    }

    /// <summary>As <c>Activations.Apply</c>: no module, no node.</summary>
    public OnnxValue Apply(nn.Module<Tensor, Tensor>? activation, OnnxValue input) => activation is null ? input : Call(activation, input);

    private static nn.Module<Tensor, Tensor> AsUnary(nn.Module module) =>
        module as nn.Module<Tensor, Tensor> ?? throw new NotSupportedException($"ONNX export: {module.GetType().Name} in a Sequential is not a one-input module");

    // ---- operators ---------------------------------------------------------------------------------------------

    public OnnxValue Add(OnnxValue a, OnnxValue b) => Node("Add", [a, b]);
    public OnnxValue Mul(OnnxValue a, OnnxValue b) => Node("Mul", [a, b]);
    public OnnxValue Relu(OnnxValue x) => Node("Relu", [x]);
    public OnnxValue Sigmoid(OnnxValue x) => Node("Sigmoid", [x]);

    public OnnxValue Clip(OnnxValue x, float min, float max) =>
        Node("Clip", [x, Initializer("clip_min", [min]), Initializer("clip_max", [max])]);

    /// <summary>Concatenation along the channels, as <c>torch.cat(values, 1)</c>.</summary>
    public OnnxValue Cat(IReadOnlyList<OnnxValue> values, long axis = 1) => Node("Concat", [.. values], Attribute("axis", axis));

    /// <summary>A 2D convolution: weight [out, in/groups, kH, kW]; pads and dilations per spatial axis.</summary>
    public OnnxValue Conv(OnnxValue x, Tensor weight, Tensor? bias, long[] strides, long[] pads, long[] dilations, long groups) =>
        Node("Conv", [x, Initializer("weight", weight), bias is null ? null : Initializer("bias", bias)],
            Attribute("kernel_shape", weight.shape[2..]), Attribute("strides", strides), Attribute("pads", [.. pads, .. pads]),
            Attribute("dilations", dilations), Attribute("group", groups));

    /// <summary>A 2D transposed convolution: weight [in, out/groups, kH, kW].</summary>
    public OnnxValue ConvTranspose(OnnxValue x, Tensor weight, Tensor? bias, long[] strides, long[] pads, long[] outputPadding, long groups) =>
        Node("ConvTranspose", [x, Initializer("weight", weight), bias is null ? null : Initializer("bias", bias)],
            Attribute("kernel_shape", weight.shape[2..]), Attribute("strides", strides), Attribute("pads", [.. pads, .. pads]),
            Attribute("output_padding", outputPadding), Attribute("group", groups));

    /// <summary>Inference BatchNormalization with the running statistics.</summary>
    public OnnxValue BatchNormalization(OnnxValue x, Tensor weight, Tensor bias, Tensor mean, Tensor variance, double epsilon) =>
        Node("BatchNormalization", [x, Initializer("weight", weight), Initializer("bias", bias), Initializer("running_mean", mean), Initializer("running_var", variance)],
            Attribute("epsilon", (float)epsilon));

    public OnnxValue MaxPool(OnnxValue x, long[] kernel, long[]? strides, long[]? pads, long[]? dilations, bool ceilMode) =>
        Node("MaxPool", [x], MaxPoolAttributes(kernel, strides, pads, dilations, ceilMode));

    /// <summary>Max pooling with its indices (int64, flattened over N x C x H x W of the input), for <see cref="MaxUnpool"/>.</summary>
    public (OnnxValue Output, OnnxValue Indices) MaxPoolWithIndices(OnnxValue x, long[] kernel, long[] strides)
    {
        var outputs = Node("MaxPool", [x], 2, MaxPoolAttributes(kernel, strides, null, null, false));
        return (outputs[0], outputs[1]);
    }

    /// <summary>Scatters each value to where <see cref="MaxPoolWithIndices"/> found it (output (in - 1) x stride + kernel).</summary>
    public OnnxValue MaxUnpool(OnnxValue x, OnnxValue indices, long[] kernel, long[] strides) =>
        Node("MaxUnpool", [x, indices], Attribute("kernel_shape", Pair(kernel)), Attribute("strides", Pair(strides)));

    private static AttributeProto[] MaxPoolAttributes(long[] kernel, long[]? strides, long[]? pads, long[]? dilations, bool ceilMode)
    {
        long[] pad = Pair(pads ?? [0]);
        return
        [
            Attribute("kernel_shape", Pair(kernel)), Attribute("strides", Pair(strides is { Length: > 0 } ? strides : kernel)),
            Attribute("pads", [.. pad, .. pad]), Attribute("dilations", Pair(dilations ?? [1])), Attribute("ceil_mode", ceilMode ? 1 : 0),
        ];
    }

    /// <summary>Zero channels appended after the input's, as <c>F.pad(x, [0, 0, 0, 0, 0, extra])</c>.</summary>
    public OnnxValue PadChannels(OnnxValue x, long extra) =>
        Node("Pad", [x, Int64Initializer("pads", [0, 0, 0, 0, 0, extra, 0, 0], 8)], Attribute("mode", "constant"));

    /// <summary>
    /// nn.Upsample by scale factors: nearest as torch's (source index floor(dst / scale): asymmetric, floor), linear
    /// with align_corners false as torch's (pytorch_half_pixel), or with align_corners true.
    /// </summary>
    public OnnxValue Upsample(OnnxValue x, Upsample upsample)
    {
        var factors = upsample.scale_factor.ToArray();
        if (factors.Length == 0) throw new NotSupportedException($"ONNX export: an Upsample to a fixed size ('{Prefix}') would fix the input size");
        float[] scales = [1, 1, (float)factors[0], (float)factors[Math.Min(1, factors.Length - 1)]];
        var attributes = upsample.mode switch
        {
            UpsampleMode.Nearest => new[] { Attribute("mode", "nearest"), Attribute("coordinate_transformation_mode", "asymmetric"), Attribute("nearest_mode", "floor") },
            UpsampleMode.Bilinear or UpsampleMode.Linear => [Attribute("mode", "linear"),
                Attribute("coordinate_transformation_mode", upsample.align_corners == true ? "align_corners" : "pytorch_half_pixel")],
            _ => throw new NotSupportedException($"ONNX export: Upsample mode {upsample.mode} ('{Prefix}')"),
        };
        return Node("Resize", [x, null, Initializer("scales", scales, 4)], attributes);
    }

    private static long[] Pair(long[] values) => values.Length == 1 ? [values[0], values[0]] : values;
}
