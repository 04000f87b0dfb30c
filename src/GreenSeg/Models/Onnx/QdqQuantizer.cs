using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace GreenSeg.Models.Onnx;

/// <summary>The range a tensor took over the calibration slices (or the part of it kept: see the calibration method).</summary>
public readonly record struct TensorRange(float Min, float Max);

/// <summary>
/// Static post-training quantisation of an fp32 GreenSeg ONNX model to int8 in QDQ form, as ONNX Runtime's own
/// quantiser writes it (QuantFormat.QDQ, U8S8): every convolution (Conv, ConvTranspose) reads its input through a
/// QuantizeLinear/DequantizeLinear pair (uint8, per tensor, asymmetric, from the calibrated range), its weight through a
/// DequantizeLinear of int8 values (per output channel, symmetric: zero point 0, scale max|w| / 127) and its bias through a
/// DequantizeLinear of int32 values (scale input scale x weight scale, zero point 0); its output is quantised too, after
/// the Relu or Clip that alone follows it, so that ONNX Runtime fuses DQ → Conv → Q into one integer convolution
/// (QLinearConv) and drops the Relu into the QuantizeLinear. The graph's output (the logits) stays float32.
/// Other operators (Add, Mul, Concat, pooling, Resize, sigmoid gates) read the dequantised values in float32.
/// </summary>
public static class QdqQuantizer
{
    private static readonly string[] Quantized = ["Conv", "ConvTranspose"];

    /// <summary>The activations whose ranges the quantisation needs, in graph order: what calibration must measure.</summary>
    public static IReadOnlyList<string> ActivationsToCalibrate(ModelProto model)
    {
        var graph = model.Graph;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = Consumers(graph);
        var names = new List<string>();
        void AddOnce(string name)
        {
            if (!names.Contains(name)) names.Add(name);
        }
        foreach (var node in graph.Node.Where(n => Quantized.Contains(n.OpType)))
        {
            if (!initializers.Contains(node.Input[0])) AddOnce(node.Input[0]);
            string output = OutputPoint(node, consumers);
            if (!outputs.Contains(output)) AddOnce(output);
        }
        return names;
    }

    /// <summary>Where a convolution's output is quantised: after a Relu or Clip that is its only consumer, else its own output.</summary>
    private static string OutputPoint(NodeProto node, IReadOnlyDictionary<string, List<NodeProto>> consumers)
    {
        string output = node.Output[0];
        return consumers.TryGetValue(output, out var users) && users.Count == 1 && users[0].OpType is "Relu" or "Clip"
            ? users[0].Output[0]
            : output;
    }

    private static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (string input in node.Input.Where(i => i.Length > 0))
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        return consumers;
    }

    /// <summary>
    /// The int8 QDQ model of an fp32 model, with <paramref name="ranges"/> for every tensor of
    /// <see cref="ActivationsToCalibrate"/>; the metadata says int8 and how it was calibrated. The fp32 model is not changed.
    /// </summary>
    public static ModelProto Quantize(ModelProto fp32, IReadOnlyDictionary<string, TensorRange> ranges, string calibration)
    {
        var model = fp32.Clone();
        var graph = model.Graph;
        var activations = ActivationsToCalibrate(model);
        var missing = activations.Where(a => !ranges.ContainsKey(a)).ToList();
        if (missing.Count > 0) throw new ArgumentException($"no calibrated range for {string.Join(", ", missing.Take(5))}", nameof(ranges));

        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var activationParameters = new Dictionary<string, (float Scale, byte ZeroPoint)>(StringComparer.Ordinal);
        var added = new List<TensorProto>();
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var nodes = new List<NodeProto>();

        // QuantizeLinear + DequantizeLinear after the tensor is produced; every consumer then reads the dequantised tensor.
        void QuantizeActivation(string name)
        {
            var (scale, zeroPoint) = Uint8Parameters(ranges[name]);
            activationParameters[name] = (scale, zeroPoint);
            string scaleName = name + "_scale", zeroPointName = name + "_zero_point";
            added.Add(Scalar(scaleName, scale));
            added.Add(new TensorProto { Name = zeroPointName, DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom([zeroPoint]) });
            nodes.Add(Node("QuantizeLinear", name + "_QuantizeLinear", [name, scaleName, zeroPointName], name + "_quantized"));
            nodes.Add(Node("DequantizeLinear", name + "_DequantizeLinear", [name + "_quantized", scaleName, zeroPointName], name + "_dequantized"));
            renamed[name] = name + "_dequantized";
        }

        var activationSet = activations.ToHashSet(StringComparer.Ordinal);
        foreach (var input in graph.Input.Where(i => activationSet.Contains(i.Name))) QuantizeActivation(input.Name);
        foreach (var original in graph.Node)
        {
            var node = original.Clone();
            for (int i = 0; i < node.Input.Count; i++)
                if (renamed.TryGetValue(node.Input[i], out string? dequantized)) node.Input[i] = dequantized;
            if (Quantized.Contains(node.OpType)) QuantizeWeights(node, original.Input[0]);
            nodes.Add(node);
            foreach (string output in node.Output.Where(activationSet.Contains)) QuantizeActivation(output);
        }

        void QuantizeWeights(NodeProto node, string input)
        {
            if (node.Input.Count < 2 || !initializers.TryGetValue(node.Input[1], out var weight)) return;
            bool transposed = node.OpType == "ConvTranspose";
            long groups = node.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
            // Per output channel: axis 0 of a convolution's weight, axis 1 of a transposed one's (when it has one group).
            int axis = transposed ? 1 : 0;
            bool perChannel = !transposed || groups == 1;
            var (values, scales) = Int8PerChannel(FloatData(weight), weight.Dims.ToArray(), perChannel ? axis : -1);
            string weightName = weight.Name + "_quantized";
            added.Add(Raw(weightName, TensorProto.Types.DataType.Int8, MemoryMarshal.AsBytes(values.AsSpan()), weight.Dims));
            added.Add(Vector(weight.Name + "_scale", scales));
            added.Add(Raw(weight.Name + "_zero_point", TensorProto.Types.DataType.Int8, new byte[scales.Length], [scales.Length]));
            var dequantize = Node("DequantizeLinear", weight.Name + "_DequantizeLinear", [weightName, weight.Name + "_scale", weight.Name + "_zero_point"], weight.Name + "_dequantized");
            if (perChannel) dequantize.Attribute.Add(OnnxGraph.Attribute("axis", axis));
            nodes.Add(dequantize);
            node.Input[1] = weight.Name + "_dequantized";

            if (node.Input.Count < 3 || node.Input[2].Length == 0 || !initializers.TryGetValue(node.Input[2], out var bias)
                || !activationParameters.TryGetValue(input, out var inputParameters)) return;
            float[] biasValues = FloatData(bias);
            var biasScales = biasValues.Select((_, c) => inputParameters.Scale * scales[scales.Length == 1 ? 0 : c]).ToArray();
            var quantizedBias = biasValues.Select((b, c) => (int)Math.Clamp(Math.Round(b / (double)biasScales[c]), int.MinValue + 1, int.MaxValue)).ToArray();
            added.Add(Raw(bias.Name + "_quantized", TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(quantizedBias.AsSpan()), bias.Dims));
            added.Add(Vector(bias.Name + "_scale", biasScales));
            added.Add(Raw(bias.Name + "_zero_point", TensorProto.Types.DataType.Int32, new byte[4 * biasScales.Length], [biasScales.Length]));
            var biasDequantize = Node("DequantizeLinear", bias.Name + "_DequantizeLinear", [bias.Name + "_quantized", bias.Name + "_scale", bias.Name + "_zero_point"], bias.Name + "_dequantized");
            biasDequantize.Attribute.Add(OnnxGraph.Attribute("axis", 0L));
            nodes.Add(biasDequantize);
            node.Input[2] = bias.Name + "_dequantized";
        }

        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        // Float weights no node reads any more go; the quantised ones come in.
        var used = nodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var kept = graph.Initializer.Where(i => used.Contains(i.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(kept);
        graph.Initializer.AddRange(added);
        OnnxExport.SetMetadata(model, OnnxExport.Keys.Precision, OnnxExport.Name(OnnxPrecision.Int8));
        OnnxExport.SetMetadata(model, OnnxExport.Keys.Calibration, calibration);
        model.DocString += $" Quantised to int8 (QDQ: uint8 activations per tensor, int8 weights per channel); calibration: {calibration}.";
        return model;
    }

    /// <summary>uint8 asymmetric parameters of a range widened to hold 0 (so zero padding and ReLU's zeros are exact).</summary>
    internal static (float Scale, byte ZeroPoint) Uint8Parameters(TensorRange range)
    {
        double min = Math.Min(0, (double)range.Min), max = Math.Max(0, (double)range.Max);
        if (!double.IsFinite(min) || !double.IsFinite(max)) throw new ArgumentException($"range [{range.Min}, {range.Max}] is not finite");
        double scale = (max - min) / 255;
        if (scale <= 0) return (1, 0);
        byte zeroPoint = (byte)Math.Clamp(Math.Round(-min / scale), 0, 255);
        return ((float)scale, zeroPoint);
    }

    /// <summary>Symmetric int8 values in [-127, 127] and one scale per slice along <paramref name="axis"/> (or one in all for axis -1).</summary>
    internal static (sbyte[] Values, float[] Scales) Int8PerChannel(float[] weights, long[] dims, int axis)
    {
        int channels = axis < 0 ? 1 : (int)dims[axis];
        long inner = axis < 0 ? weights.Length : dims.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        int Channel(int index) => axis < 0 ? 0 : (int)(index / inner % channels);
        var maxima = new float[channels];
        for (int i = 0; i < weights.Length; i++) maxima[Channel(i)] = Math.Max(maxima[Channel(i)], Math.Abs(weights[i]));
        var scales = maxima.Select(m => m > 0 ? m / 127 : 1f).ToArray();
        var values = new sbyte[weights.Length];
        for (int i = 0; i < weights.Length; i++)
            values[i] = (sbyte)Math.Clamp(Math.Round(weights[i] / (double)scales[Channel(i)]), -127, 127);
        return (values, scales);
    }

    private static float[] FloatData(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float) throw new NotSupportedException($"quantising {tensor.Name}: not float32");
        return tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];
    }

    private static NodeProto Node(string opType, string name, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static TensorProto Scalar(string name, float value) =>
        Raw(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(new[] { value }.AsSpan()), []);

    private static TensorProto Vector(string name, float[] values) =>
        Raw(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), [values.Length]);

    private static TensorProto Raw(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> data, IEnumerable<long> dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
