using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Imaging;
using GreenSeg.Models;
using GreenSeg.Models.Onnx;
using GreenSeg.Transforms;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace GreenSeg.Inference;

/// <summary>How a quantised tensor's range is taken from what it held over the calibration slices.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,
    /// <summary>The <see cref="CalibrationOptions.Percentile"/>th percentile at each end (a histogram of 2048 bins): rare outliers are clipped instead of coarsening every other value.</summary>
    Percentile,
}

/// <summary>Where int8 calibration takes its slices and how it sets each range.</summary>
public sealed record CalibrationOptions
{
    /// <summary>A dataset (its training slices: E2MIP, paired or CSV layout, as <c>train --data</c>) or one NIfTI stack (all its slices).</summary>
    public required string Data { get; init; }
    /// <summary>Slices drawn evenly over the dataset's stacks (every stack's slices in order, then every k-th).</summary>
    public int Slices { get; init; } = 64;
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;
    /// <summary>With <see cref="CalibrationMethod.Percentile"/>: the share of values (in %) each range keeps at each end.</summary>
    public double Percentile { get; init; } = 99.99;
    /// <summary>Only these stacks of the dataset (ids as <c>greenseg data inspect</c> lists them), e.g. a study's training split, so held-out stacks stay unseen; null: all.</summary>
    public IReadOnlyList<string>? Stacks { get; init; }

    public CalibrationOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Data)) throw new GreenSegException("calibration needs data: a dataset folder, a .csv list or a NIfTI stack");
        if (Slices is < 1 or > 100_000) throw new GreenSegException($"calibration slices must lie in 1..100000, got {Slices}");
        if (!(Percentile is > 50 and <= 100)) throw new GreenSegException($"calibration percentile must lie in (50, 100], got {Percentile}");
        return this;
    }
}

/// <summary>
/// Static int8 quantisation's calibration: slices prepared exactly as segment prepares them (the model's manifest) run
/// through the fp32 model in ONNX Runtime with every tensor <see cref="QdqQuantizer"/> quantises as an extra output,
/// and each tensor's range is kept (<see cref="CalibrationMethod"/>); <see cref="Quantize"/> then writes the QDQ model.
/// </summary>
public static class OnnxCalibration
{
    private const int BatchSize = 4;
    private const int HistogramBins = 2048;

    /// <summary>The int8 QDQ model of an fp32 model, calibrated on <paramref name="options"/>' slices.</summary>
    public static OnnxModel Quantize(OnnxModel fp32, CalibrationOptions options, OnnxSessionSettings session)
    {
        options.Validate();
        var slices = Slices(fp32.Manifest, options);
        return Quantize(fp32, slices, options, session, $"{Name(options.Method, options.Percentile)} over {slices.Count} slices of {SourceName(options.Data)}");
    }

    /// <summary>As above, on slices already prepared (<see cref="Slices(CheckpointManifest, NiftiImage, int)"/>).</summary>
    public static OnnxModel Quantize(OnnxModel fp32, IReadOnlyList<float[]> slices, CalibrationOptions options, OnnxSessionSettings session, string description)
    {
        if (fp32.Precision != OnnxPrecision.Fp32) throw new GreenSegException("only an fp32 ONNX model can be quantised (this one is int8 already)");
        var tensors = QdqQuantizer.ActivationsToCalibrate(fp32.Proto);
        var ranges = Ranges(fp32, tensors, slices, options.Method, options.Percentile, session);
        return new OnnxModel(QdqQuantizer.Quantize(fp32.Proto, ranges, description), fp32.Manifest, OnnxPrecision.Int8);
    }

    private static string Name(CalibrationMethod method, double percentile) =>
        method == CalibrationMethod.MinMax ? "min-max" : $"percentile {percentile.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    private static string SourceName(string data) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(data)));

    // ---- slices --------------------------------------------------------------------------------------------------

    /// <summary>
    /// Up to <see cref="CalibrationOptions.Slices"/> slices of the calibration data, prepared as the manifest says: a
    /// dataset's training slices drawn evenly over its stacks (damaged ones skipped), or a NIfTI stack's slices.
    /// </summary>
    public static IReadOnlyList<float[]> Slices(CheckpointManifest manifest, CalibrationOptions options)
    {
        options.Validate();
        string full = Path.GetFullPath(options.Data);
        if (File.Exists(full) && NiftiFiles.IsNifti(full)) return Slices(manifest, NiftiImage.Read(full), options.Slices);
        var dataset = DatasetReader.Open(full);
        var all = dataset.TrainingStacks.Where(s => options.Stacks is null || options.Stacks.Contains(s.Id)).SelectMany(s => s.Slices).ToList();
        if (all.Count == 0) throw new InvalidInputException(full, "has no training slices to calibrate int8 on");
        var preprocessor = new SlicePreprocessor(manifest.Preprocessing());
        var reader = new SliceReader();
        var slices = new List<float[]>();
        string? lastProblem = null;
        foreach (var slice in Evenly(all, options.Slices))
        {
            try
            {
                // Masks are not needed to calibrate.
                var raw = reader.Read(slice with { MaskPath = null });
                if (manifest.CanonicalOrientation) raw = raw.InCanonicalOrientation();
                slices.Add(preprocessor.Image(raw.Image, preprocessor.Plan(raw.Width, raw.Height, raw.SpacingX, raw.SpacingY)));
            }
            catch (Exception e) when (e is GreenSegException or IOException)
            {
                lastProblem = e.Message;
            }
        }
        return slices.Count > 0 ? slices : throw new InvalidInputException(full, $"none of its calibration slices could be read ({lastProblem})");
    }

    /// <summary>Up to <paramref name="count"/> slices of one stack, drawn evenly, prepared as segment prepares that stack.</summary>
    public static IReadOnlyList<float[]> Slices(CheckpointManifest manifest, NiftiImage stack, int count)
    {
        var preprocessor = new SlicePreprocessor(manifest.Preprocessing());
        var orientation = manifest.CanonicalOrientation ? InPlaneOrientation.FromAffine(stack.Header.Affine()) : InPlaneOrientation.Identity;
        var (width, height) = orientation.Size(stack.SizeX, stack.SizeY);
        var (spacingX, spacingY) = orientation.Spacing(stack.SpacingX, stack.SpacingY);
        var record = preprocessor.Plan(width, height, spacingX, spacingY);
        return Evenly(Enumerable.Range(0, stack.SizeZ).ToList(), count).Select(z =>
        {
            float[] slice = stack.ScaledSlice(z);
            return preprocessor.Image(orientation.IsIdentity ? slice : orientation.Apply<float>(slice, stack.SizeX, stack.SizeY), record);
        }).ToList();
    }

    /// <summary>Every item when there are at most <paramref name="count"/>, else <paramref name="count"/> spread evenly (the middle of each k-th share).</summary>
    private static IEnumerable<T> Evenly<T>(IReadOnlyList<T> items, int count) =>
        items.Count <= count ? items : Enumerable.Range(0, count).Select(i => items[(int)((i + 0.5) * items.Count / count)]);

    // ---- ranges --------------------------------------------------------------------------------------------------

    /// <summary>Each tensor's range over the slices, from the fp32 model run in ONNX Runtime with the tensors as extra outputs.</summary>
    public static Dictionary<string, TensorRange> Ranges(OnnxModel fp32, IReadOnlyList<string> tensors, IReadOnlyList<float[]> slices,
        CalibrationMethod method, double percentile, OnnxSessionSettings session)
    {
        if (slices.Count == 0) throw new GreenSegException("calibration needs at least one slice");
        int size = fp32.Manifest.Size;
        var graphInputs = fp32.Proto.Graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var measured = tensors.Where(t => !graphInputs.Contains(t)).ToArray();
        var probe = fp32.Proto.Clone();
        foreach (string name in measured)
            probe.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } });
        using var options = session.Create();
        using var ortSession = new InferenceSession(probe.ToByteArray(), options);
        using var run = new RunOptions();

        // Calls back with every tensor's values of every batch: the network's input from the slices, the others from ONNX Runtime.
        void Visit(Action<string, ReadOnlySpan<float>> visit)
        {
            for (int first = 0; first < slices.Count; first += BatchSize)
            {
                int count = Math.Min(BatchSize, slices.Count - first);
                var batch = new float[count * size * size];
                for (int i = 0; i < count; i++) slices[first + i].CopyTo(batch, i * size * size);
                foreach (string name in tensors.Where(graphInputs.Contains)) visit(name, batch);
                if (measured.Length == 0) continue;
                using var image = OrtValue.CreateTensorValueFromMemory(batch, [count, 1, size, size]);
                using var outputs = ortSession.Run(run, [OnnxExport.InputName], [image], measured);
                for (int k = 0; k < measured.Length; k++) visit(measured[k], outputs[k].GetTensorDataAsSpan<float>());
            }
        }

        var minima = tensors.ToDictionary(t => t, _ => float.PositiveInfinity, StringComparer.Ordinal);
        var maxima = tensors.ToDictionary(t => t, _ => float.NegativeInfinity, StringComparer.Ordinal);
        Visit((name, values) =>
        {
            float min = minima[name], max = maxima[name];
            foreach (float v in values)
            {
                if (v < min) min = v;
                if (v > max) max = v;
            }
            (minima[name], maxima[name]) = (min, max);
        });
        foreach (string name in tensors)
            if (!float.IsFinite(minima[name]) || !float.IsFinite(maxima[name]))
                throw new GreenSegException($"calibration: tensor '{name}' took non-finite values; the fp32 model does not compute finite outputs on these slices");
        if (method == CalibrationMethod.MinMax)
            return tensors.ToDictionary(t => t, t => new TensorRange(minima[t], maxima[t]), StringComparer.Ordinal);

        var histograms = tensors.ToDictionary(t => t, _ => new long[HistogramBins], StringComparer.Ordinal);
        Visit((name, values) =>
        {
            var histogram = histograms[name];
            float min = minima[name], width = (maxima[name] - min) / HistogramBins;
            if (width <= 0) return;
            foreach (float v in values) histogram[Math.Clamp((int)((v - min) / width), 0, HistogramBins - 1)]++;
        });
        return tensors.ToDictionary(t => t, t => PercentileRange(histograms[t], minima[t], maxima[t], percentile), StringComparer.Ordinal);
    }

    /// <summary>The values between the (100 - p)th and the pth percentile of a histogram over [min, max] (bin edges).</summary>
    private static TensorRange PercentileRange(long[] histogram, float min, float max, double percentile)
    {
        long total = histogram.Sum();
        if (total == 0 || max <= min) return new TensorRange(min, max);
        double width = (max - min) / (double)histogram.Length;
        long tail = (long)Math.Floor(total * (100 - percentile) / 100);
        int low = 0, high = histogram.Length - 1;
        for (long seen = 0; low < histogram.Length - 1 && seen + histogram[low] <= tail; low++) seen += histogram[low];
        for (long seen = 0; high > 0 && seen + histogram[high] <= tail; high--) seen += histogram[high];
        return new TensorRange((float)(min + low * width), (float)(min + (high + 1) * width));
    }
}
