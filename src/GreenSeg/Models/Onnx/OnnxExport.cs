using System.Globalization;
using Onnx;
using static TorchSharp.torch;

namespace GreenSeg.Models.Onnx;

/// <summary>The arithmetic an ONNX model computes in: float32 throughout, or int8 convolutions in QDQ form (<see cref="QdqQuantizer"/>).</summary>
public enum OnnxPrecision { Fp32, Int8 }

/// <summary>
/// A GreenSeg model as a self-describing ONNX model (opset <see cref="OnnxGraph.Opset"/>): input <c>image</c> float32
/// [N, C, H, W], output <c>logits</c> float32 [N, classes, H, W] (sigmoid gives the brain probability), with N, H and W
/// dynamic (H and W multiples of the network's total stride, <c>greenseg.total_stride</c>); weights as float32
/// initializers, every ConvNormAct's BatchNorm folded into its convolution. Its metadata_props carry the checkpoint's
/// manifest (model.json: network, slice size, spacing, normalisation, orientation, preprocessing version), so the file
/// alone says how slices must be prepared.
/// </summary>
public static class OnnxExport
{
    public const string InputName = "image";
    public const string OutputName = "logits";
    public const string ProducerName = "GreenSeg";
    public const string Domain = "org.greenseg";
    /// <summary>The layout of GreenSeg's metadata; a later one is refused by an older GreenSeg.</summary>
    public const int FormatVersion = 1;

    /// <summary>The metadata_props keys. <see cref="Manifest"/> is what GreenSeg reads; the others say the same for people and other tools.</summary>
    public static class Keys
    {
        public const string Format = "greenseg.format";
        public const string Manifest = "greenseg.manifest";
        public const string Precision = "greenseg.precision";
        public const string Opset = "greenseg.opset";
        public const string TotalStride = "greenseg.total_stride";
        public const string Calibration = "greenseg.calibration";
        public const string Model = "greenseg.model";
        public const string ModelWidth = "greenseg.model_width";
        public const string Size = "greenseg.size";
        public const string Spacing = "greenseg.spacing_mm";
        public const string Normalization = "greenseg.normalization";
        public const string CanonicalOrientation = "greenseg.canonical_orientation";
        public const string PreprocessingVersion = "greenseg.preprocessing_version";
    }

    /// <summary>The eval-mode network as an fp32 ONNX model with <paramref name="manifest"/> in its metadata. The model is not changed.</summary>
    public static ModelProto ToModel(SegmentationModel model, CheckpointManifest manifest)
    {
        if (model.training) throw new InvalidOperationException("export describes inference: call eval() first");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var graph = new OnnxGraph(model, model.ModelName);
        var logits = model.ToOnnx(graph, graph.Input(InputName, model.InChannels));
        graph.Output(logits, OutputName, model.OutChannels);
        var proto = new ModelProto
        {
            IrVersion = OnnxGraph.IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "",
            Domain = Domain,
            ModelVersion = 1,
            DocString = Description(manifest, model.TotalStride),
            Graph = graph.Proto,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxGraph.Opset });
        SetMetadata(proto, Keys.Format, FormatVersion.ToString(CultureInfo.InvariantCulture));
        SetMetadata(proto, Keys.Manifest, manifest.ToJson());
        SetMetadata(proto, Keys.Precision, Name(OnnxPrecision.Fp32));
        SetMetadata(proto, Keys.Opset, OnnxGraph.Opset.ToString(CultureInfo.InvariantCulture));
        SetMetadata(proto, Keys.TotalStride, model.TotalStride.ToString(CultureInfo.InvariantCulture));
        SetMetadata(proto, Keys.Model, manifest.Model);
        SetMetadata(proto, Keys.ModelWidth, model.BaseFeatures.ToString(CultureInfo.InvariantCulture));
        SetMetadata(proto, Keys.Size, manifest.Size.ToString(CultureInfo.InvariantCulture));
        SetMetadata(proto, Keys.Spacing, manifest.Spacing.ToString("R", CultureInfo.InvariantCulture));
        SetMetadata(proto, Keys.Normalization, manifest.Normalization.ToString());
        SetMetadata(proto, Keys.CanonicalOrientation, manifest.CanonicalOrientation ? "true" : "false");
        SetMetadata(proto, Keys.PreprocessingVersion, manifest.PreprocessingVersion.ToString(CultureInfo.InvariantCulture));
        return proto;
    }

    private static string Description(CheckpointManifest manifest, int totalStride) =>
        $"GreenSeg {manifest.Model} brain segmentation. Input 'image': float32 [N, {manifest.InChannels}, H, W], H and W multiples of {totalStride} " +
        $"(trained on {manifest.Size}x{manifest.Size}); each slice resampled to {manifest.Spacing.ToString(CultureInfo.InvariantCulture)} mm pixels, " +
        $"normalised by {manifest.Normalization}, centred and padded or cropped to {manifest.Size}x{manifest.Size}" +
        (manifest.CanonicalOrientation ? ", after turning it to the canonical in-plane orientation" : "") +
        $". Output 'logits': float32 [N, {manifest.OutChannels}, H, W]; sigmoid(logits) > 0.5 is brain. The metadata key '{Keys.Manifest}' holds the whole preprocessing (GreenSeg's model.json).";

    public static string Name(OnnxPrecision precision) => precision == OnnxPrecision.Int8 ? "int8" : "fp32";

    /// <summary>Sets (or replaces) one metadata_props entry.</summary>
    public static void SetMetadata(ModelProto model, string key, string value)
    {
        var existing = model.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (existing is not null) existing.Value = value;
        else model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
    }

    public static string? Metadata(ModelProto model, string key) => model.MetadataProps.FirstOrDefault(p => p.Key == key)?.Value;
}
