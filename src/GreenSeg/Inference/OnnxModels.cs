using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Models.Onnx;

namespace GreenSeg.Inference;

/// <summary>What <c>greenseg export --format onnx</c> writes: fp32, or int8 calibrated on <see cref="Calibration"/>.</summary>
public sealed record OnnxExportOptions
{
    public OnnxPrecision Precision { get; init; } = OnnxPrecision.Fp32;
    /// <summary>The calibration slices int8 needs; not used for fp32.</summary>
    public CalibrationOptions? Calibration { get; init; }
    /// <summary>ONNX Runtime threads for the calibration runs (0: its default).</summary>
    public int Threads { get; init; }

    public OnnxExportOptions Validate()
    {
        if (Precision == OnnxPrecision.Int8 && Calibration is null)
            throw new GreenSegException("--precision int8 needs --calibration DATA: the training slices (a dataset, or a NIfTI stack) its activation ranges are measured on");
        if (Precision == OnnxPrecision.Fp32 && Calibration is not null)
            throw new GreenSegException("--calibration applies to --precision int8 only");
        Calibration?.Validate();
        TorchRuntime.ValidateThreads(Threads);
        return this;
    }
}

/// <summary>
/// GreenSeg checkpoints as ONNX models: written to a .onnx file (<see cref="ExportCheckpoint"/>), or built in memory for
/// the ONNX Runtime engine of <c>segment --engine onnx</c> (<see cref="LoadEngines"/>), which also reads .onnx files.
/// </summary>
public static class OnnxModels
{
    /// <summary>The fp32 ONNX model of a checkpoint's network and preprocessing.</summary>
    public static OnnxModel FromCheckpoint(CheckpointManifest manifest, string weights)
    {
        using var model = manifest.CreateModel();
        ModelWeights.Load(model, weights);
        model.eval();
        return new OnnxModel(OnnxExport.ToModel(model, manifest), manifest, OnnxPrecision.Fp32);
    }

    /// <summary>
    /// Writes a checkpoint (run folder, checkpoint folder or model.pt) as a .onnx file, quantised to int8 when asked; a
    /// file there that GreenSeg did not export is refused before any work. Returns what was written.
    /// </summary>
    public static OnnxModel ExportCheckpoint(string checkpoint, string path, OnnxExportOptions options)
    {
        options.Validate();
        string full = Path.GetFullPath(path);
        if (File.Exists(full) && !OnnxModelFile.IsGreenSegModel(full))
            throw new InvalidInputException(full, "exists and is not an ONNX model GreenSeg exported; it is not replaced: move it or choose another --out");
        var (manifest, weights) = CheckpointManifest.Locate(checkpoint);
        var model = FromCheckpoint(manifest, weights);
        if (options.Precision == OnnxPrecision.Int8)
            model = OnnxCalibration.Quantize(model, options.Calibration!, new OnnxSessionSettings(options.Threads));
        OnnxModelFile.Write(full, model.Proto);
        return model;
    }

    /// <summary>The --precision values the ONNX engine runs: auto (the model's own), fp32 or int8.</summary>
    private static readonly Dictionary<string, OnnxPrecision?> Precisions = new()
    {
        ["auto"] = null,
        ["fp32"] = OnnxPrecision.Fp32,
        ["int8"] = OnnxPrecision.Int8,
    };

    /// <summary>Whether the ONNX engine runs a --precision.</summary>
    public static bool RunsPrecision(string precision) => Precisions.ContainsKey(precision.Trim().ToLowerInvariant());

    /// <summary>The ONNX engine's reading of --precision: null for auto (the model's own), fp32 or int8.</summary>
    public static OnnxPrecision? ParsePrecision(string precision) =>
        Precisions.TryGetValue(precision.Trim().ToLowerInvariant(), out var parsed)
            ? parsed
            : throw new GreenSegException($"precision '{precision}' does not run on the ONNX engine: expected auto (the model's own), fp32 or int8");

    /// <summary>
    /// One ONNX Runtime engine per model: a .onnx file (checked, its metadata giving the preprocessing), or the
    /// checkpoints a path names (<see cref="CheckpointManifest.LocateAll"/>), each exported in memory. --precision int8 on
    /// an fp32 model quantises it at load, calibrated on <see cref="SegmentOptions.Calibration"/>.
    /// </summary>
    public static IReadOnlyList<(CheckpointManifest Manifest, IInferenceEngine Engine)> LoadEngines(string modelPath, SegmentOptions options)
    {
        var requested = ParsePrecision(options.Precision);
        var session = new OnnxSessionSettings(options.Threads, options.Device);
        using (session.Create()) { } // a device this build cannot use is refused before any model is read
        string full = Path.GetFullPath(modelPath);
        IEnumerable<(Func<OnnxModel> Load, string Source)> sources = OnnxModelFile.IsOnnxPath(full) && !Directory.Exists(full)
            ? [(() => OnnxModelFile.Read(full), full)]
            : CheckpointManifest.LocateAll(modelPath).Select(c => ((Func<OnnxModel>)(() => FromCheckpoint(c.Manifest, c.WeightsPath)), c.WeightsPath)).ToList();
        var engines = new List<(CheckpointManifest, IInferenceEngine)>();
        try
        {
            foreach (var (load, source) in sources)
            {
                var model = load();
                if (requested == OnnxPrecision.Int8 && model.Precision == OnnxPrecision.Fp32)
                    model = OnnxCalibration.Quantize(model, options.Calibration ?? throw new GreenSegException(
                        "--precision int8 quantises the model as it loads, calibrated on training slices: give --calibration DATA, or segment a .onnx file exported with --precision int8"), session);
                else if (requested == OnnxPrecision.Fp32 && model.Precision == OnnxPrecision.Int8)
                    throw new InvalidInputException(source, "is an int8 model; segment it with --precision int8 (or auto)");
                engines.Add((model.Manifest, OnnxInferenceEngine.Create(model, session, source)));
            }
        }
        catch
        {
            foreach (var (_, engine) in engines) engine.Dispose();
            throw;
        }
        return engines;
    }
}
