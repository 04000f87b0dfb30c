using System.Globalization;
using GreenSeg.Common;
using Google.Protobuf;
using Onnx;

namespace GreenSeg.Models.Onnx;

/// <summary>An ONNX model GreenSeg can segment with: the protobuf, the preprocessing its metadata describes, its arithmetic.</summary>
public sealed record OnnxModel(ModelProto Proto, CheckpointManifest Manifest, OnnxPrecision Precision)
{
    public byte[] ToBytes() => Proto.ToByteArray();
}

/// <summary>
/// Reads and writes .onnx files. A file is checked before anything runs it: a protobuf ModelProto with a graph, GreenSeg's
/// metadata (a manifest that passes <see cref="CheckpointManifest.Problem"/>, a known format version and precision), one
/// input <c>image</c> float [N, C, H, W] and one output <c>logits</c> float of rank 4; anything else is an
/// <see cref="InvalidInputException"/> naming the file. An existing file is replaced only when GreenSeg wrote it.
/// </summary>
public static class OnnxModelFile
{
    public const string Extension = ".onnx";
    /// <summary>Protobuf's own limit; a larger file cannot be an ONNX model with its weights inside.</summary>
    public const long MaxBytes = int.MaxValue;

    public static bool IsOnnxPath(string path) => path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase);

    public static OnnxModel Read(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new InvalidInputException(full, "ONNX model not found");
        RegularFile.Require(full);
        long length = new FileInfo(full).Length;
        if (length > MaxBytes) throw new InvalidInputException(full, $"{length} bytes is more than an ONNX model can hold");
        return Parse(File.ReadAllBytes(full), full);
    }

    /// <summary>Checks the bytes of an ONNX model; <paramref name="source"/> names it in errors.</summary>
    public static OnnxModel Parse(byte[] bytes, string source)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidInputException(source, $"not an ONNX model: {e.Message}", e);
        }
        if (proto.Graph is null || proto.Graph.Node.Count == 0) throw new InvalidInputException(source, "not an ONNX model: it has no graph");
        string? format = OnnxExport.Metadata(proto, OnnxExport.Keys.Format);
        string? manifestJson = OnnxExport.Metadata(proto, OnnxExport.Keys.Manifest);
        if (format is null || manifestJson is null)
            throw new InvalidInputException(source, $"has no GreenSeg metadata ('{OnnxExport.Keys.Format}' and '{OnnxExport.Keys.Manifest}' in metadata_props), so how its slices must be prepared is unknown; export the model with greenseg export RUN --format onnx");
        if (!int.TryParse(format, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version is < 1 or > OnnxExport.FormatVersion)
            throw new InvalidInputException(source, $"GreenSeg metadata format '{format}': this GreenSeg reads 1..{OnnxExport.FormatVersion}; use the GreenSeg that exported it");
        CheckpointManifest manifest;
        try
        {
            manifest = CheckpointManifest.FromJson(manifestJson, source);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException(source, $"its '{OnnxExport.Keys.Manifest}' metadata: {e.Problem}", e);
        }
        var precision = OnnxExport.Metadata(proto, OnnxExport.Keys.Precision) switch
        {
            "fp32" => OnnxPrecision.Fp32,
            "int8" => OnnxPrecision.Int8,
            var other => throw new InvalidInputException(source, $"'{OnnxExport.Keys.Precision}' is '{other}', expected fp32 or int8"),
        };
        CheckInterface(proto.Graph, manifest, source);
        return new OnnxModel(proto, manifest, precision);
    }

    private static void CheckInterface(GraphProto graph, CheckpointManifest manifest, string source)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (inputs.Count != 1 || !IsImage(inputs[0], OnnxExport.InputName, manifest.InChannels))
            throw new InvalidInputException(source, $"its input must be one '{OnnxExport.InputName}', float [N, {manifest.InChannels}, H, W]; it has {Describe(inputs)}");
        var outputs = graph.Output.ToList();
        if (outputs.Count != 1 || !IsImage(outputs[0], OnnxExport.OutputName, manifest.OutChannels))
            throw new InvalidInputException(source, $"its output must be one '{OnnxExport.OutputName}', float [N, {manifest.OutChannels}, H, W]; it has {Describe(outputs)}");
    }

    private static bool IsImage(ValueInfoProto value, string name, int channels)
    {
        if (value.Name != name || value.Type?.TensorType is not { } tensor || tensor.ElemType != (int)TensorProto.Types.DataType.Float) return false;
        if (tensor.Shape is not { } shape || shape.Dim.Count != 4) return false;
        var channelDim = shape.Dim[1];
        return channelDim.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || channelDim.DimValue == channels;
    }

    private static string Describe(IReadOnlyList<ValueInfoProto> values) => values.Count == 0 ? "none" : string.Join(", ", values.Select(v =>
    {
        var tensor = v.Type?.TensorType;
        string type = tensor is null ? "not a tensor" : ((TensorProto.Types.DataType)tensor.ElemType).ToString().ToLowerInvariant();
        string dims = tensor?.Shape is { } shape
            ? "[" + string.Join(", ", shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(CultureInfo.InvariantCulture) : d.DimParam is { Length: > 0 } p ? p : "?")) + "]"
            : "[?]";
        return $"'{v.Name}' {type} {dims}";
    }));

    /// <summary>Whether the file is an ONNX model GreenSeg exported (its producer and metadata), which it may replace.</summary>
    public static bool IsGreenSegModel(string path)
    {
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length > MaxBytes) return false;
            var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            return proto.ProducerName == OnnxExport.ProducerName && OnnxExport.Metadata(proto, OnnxExport.Keys.Manifest) is not null;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes the model atomically; a file there that GreenSeg did not export is refused, never replaced.</summary>
    public static void Write(string path, ModelProto model)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new InvalidInputException(full, "is a folder; name the .onnx file to write");
        if (File.Exists(full) && !IsGreenSegModel(full))
            throw new InvalidInputException(full, "exists and is not an ONNX model GreenSeg exported; it is not replaced: move it or choose another --out");
        AtomicFile.Write(full, stream => model.WriteTo(stream));
    }
}
