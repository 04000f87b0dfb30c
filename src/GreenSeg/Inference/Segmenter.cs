using System.Diagnostics;
using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Imaging;
using GreenSeg.Models;
using GreenSeg.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Inference;

/// <summary>Which planes of a stack the network segments.</summary>
public enum SegmentationViews
{
    /// <summary>The stored slices (the default: cross-validation found three planes no better overall; see the README).</summary>
    [EnumMember(Value = "stored")] Stored,
    /// <summary>
    /// The stored slices and the planes cut across the stack's two other axes (as <c>--multi-planar</c> trains on),
    /// their probabilities averaged voxel by voxel: a false positive of one view is outvoted by the two others. A stack
    /// thinner than <see cref="MultiPlanarCuts.MinimumThroughPlaneMm"/> (no cut planes in training) uses its stored slices only.
    /// </summary>
    [EnumMember(Value = "three-planes")] ThreePlanes,
}

public sealed record SegmentOptions
{
    /// <summary>Probability above which a voxel is brain.</summary>
    public float Threshold { get; init; } = 0.5f;
    /// <summary>
    /// Which mirrored copies of each slice are also segmented, their probabilities averaged. Left-right by default: over
    /// 68 held-out stack scores of six sets of cross-validation fold models it gained about 0.01 Dice for twice the
    /// network's work, and four flips no more within the noise for twice that again (docs/crossval/test-time-augmentation.md).
    /// </summary>
    public TestTimeAugmentation Tta { get; init; } = TestTimeAugmentation.LeftRight;
    /// <summary>The stored slices only, or all three planes averaged (for models trained with multi-planar slices).</summary>
    public SegmentationViews Views { get; init; } = SegmentationViews.Stored;
    /// <summary>Fold each convolution's BatchNorm into it before inference (same output, less work; <see cref="BatchNormFolding"/>).</summary>
    public bool FoldBatchNorm { get; init; } = true;
    /// <summary>How the thresholded mask is cleaned up; null: as the model's manifest says (the recipe's post-processing).</summary>
    public PostProcessingOptions? PostProcessing { get; init; }
    public int BatchSize { get; init; } = 8;
    /// <summary>fp32, bf16-mixed (bf16 convolutions on fp32 weights, as in training) or bf16-pure (see <see cref="InferencePrecision"/>).</summary>
    public string Precision { get; init; } = InferencePrecision.Auto;
    public bool ChannelsLast { get; init; } = true;
    public string Device { get; init; } = "cpu";
    /// <summary>libtorch intra-op threads; 0 leaves libtorch's default.</summary>
    public int Threads { get; init; }
    /// <summary>What runs the network; with <see cref="InferenceEngine.Onnx"/>, Precision is auto, fp32 or int8 (<see cref="OnnxModels.LoadEngines"/>).</summary>
    public InferenceEngine Engine { get; init; } = InferenceEngine.Auto;
    /// <summary>The slices int8 is calibrated on when an fp32 model is quantised as it loads (--engine onnx --precision int8).</summary>
    public CalibrationOptions? Calibration { get; init; }

    /// <summary>
    /// The engine that runs: <see cref="InferenceEngine.Auto"/> is ONNX Runtime, except where only TorchSharp can do what
    /// is asked: a CUDA device (this build's ONNX Runtime is the CPU package), a bf16 or fp16 precision, or BatchNorm left
    /// unfolded (the ONNX export always folds it).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public InferenceEngine ResolvedEngine => Engine switch
    {
        InferenceEngine.Auto => Device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase) && FoldBatchNorm && OnnxModels.RunsPrecision(Precision)
            ? InferenceEngine.Onnx
            : InferenceEngine.Torch,
        _ => Engine,
    };

    /// <summary>
    /// What decides the masks, as <c>greenseg segment</c>'s options spell it (e.g. <c>--views stored --tta left-right
    /// --threshold 0.5</c>); the post-processing only where it is not the model's own.
    /// </summary>
    public string MaskOptions()
    {
        string options = FormattableString.Invariant($"--views {ChoiceNames.Name(Views)} --tta {ChoiceNames.Name(Tta)} --threshold {Threshold}");
        return PostProcessing switch
        {
            null => options,
            { } p when p == PostProcessingOptions.None => options + " --no-postprocess",
            { } p => options + FormattableString.Invariant($" --components {ChoiceNames.Name(p.Components)}") +
                (p.Components == ComponentSelection.Large ? FormattableString.Invariant($" --min-component-share {p.MinComponentShare}") : ""),
        };
    }

    /// <summary>Throws a <see cref="GreenSegException"/> naming the first option that cannot work.</summary>
    public SegmentOptions Validate()
    {
        if (!(Threshold is >= 0 and <= 1)) throw new GreenSegException($"threshold must lie in 0..1, got {Threshold}");
        if (BatchSize < 1) throw new GreenSegException($"batch size must be at least 1, got {BatchSize}");
        if (!Enum.IsDefined(Engine)) throw new GreenSegException($"unknown inference engine {Engine}");
        if (!Enum.IsDefined(Views)) throw new GreenSegException($"unknown segmentation views {Views}");
        if (!Enum.IsDefined(Tta)) throw new GreenSegException($"unknown test-time augmentation {Tta}");
        TorchRuntime.ValidateThreads(Threads);
        if (ResolvedEngine == InferenceEngine.Torch && Precision.Trim().Equals("int8", StringComparison.OrdinalIgnoreCase))
            throw new GreenSegException("precision int8 runs on the ONNX engine (on the CPU): use --engine onnx --device cpu");
        Calibration?.Validate();
        try
        {
            PostProcessing?.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new GreenSegException($"post-processing: {e.ParamName} {e.Message.Split(" (Parameter")[0]}");
        }
        return this;
    }
}

/// <summary>Where a stack's segmentation time went: slice preparation, the network, mapping back, thresholding and clean-up.</summary>
public sealed record SegmentationTimings(TimeSpan Prepare, TimeSpan Network, TimeSpan Restore, TimeSpan PostProcess);

/// <summary>A stack's segmentation in its own geometry, and how long it took.</summary>
/// <param name="LargeComponentsBeforePostProcessing">Large connected components (at least the post-processing's MinComponentShare of the largest) of the thresholded mask before post-processing: more than one hints at a large false positive or a brain split by motion.</param>
public sealed record StackSegmentation(NiftiImage Mask, NiftiImage? Probabilities, TimeSpan Elapsed, int Slices, SegmentationTimings Timings,
    int LargeComponentsBeforePostProcessing);

/// <summary>
/// Segments stacks slice by slice with a trained model: each slice goes through the training
/// preprocessing, the network, and the exact inverse back to the slice's own grid; the 3D mask is then
/// thresholded and post-processed, and written with the input's header geometry. An ensemble (the fold
/// models of a cross-validation) averages its members' probabilities in the stack's own grid, each member
/// with its own preprocessing, before the one threshold and post-processing.
/// </summary>
public sealed class Segmenter : IDisposable
{
    private readonly IReadOnlyList<Member> _members;

    public SegmentOptions Options { get; }
    /// <summary>
    /// What cleans up each mask: the options' post-processing, else the models' own (<see cref="CheckpointManifest.PostProcessing"/>)
    /// when every member of an ensemble has the same, else <see cref="PostProcessingOptions.Default"/>.
    /// </summary>
    public PostProcessingOptions ResolvedPostProcessing { get; }
    /// <summary>The (first) model's manifest; <see cref="Manifests"/> lists every member's.</summary>
    public CheckpointManifest Manifest => _members[0].Manifest;
    public IReadOnlyList<CheckpointManifest> Manifests => _members.Select(m => m.Manifest).ToList();
    public TimeSpan LoadTime { get; }

    private Segmenter(IReadOnlyList<Member> members, SegmentOptions options, TimeSpan loadTime)
    {
        _members = members;
        Options = options;
        LoadTime = loadTime;
        ResolvedPostProcessing = options.PostProcessing ?? ModelPostProcessing(members.Select(m => m.Manifest));
    }

    /// <summary>
    /// Loads a model from a run folder, checkpoint folder or model.pt (with model.json beside it); a
    /// cross-validation's folder loads its fold models as an ensemble (<see cref="CheckpointManifest.LocateAll"/>).
    /// </summary>
    public static Segmenter Load(string modelPath, SegmentOptions? options = null)
    {
        options = (options ?? new SegmentOptions()).Validate();
        var clock = Stopwatch.StartNew();
        if (options.ResolvedEngine == InferenceEngine.Onnx)
            return new Segmenter(OnnxModels.LoadEngines(modelPath, options).Select(m => new Member(m.Manifest, m.Engine)).ToList(), options, clock.Elapsed);
        if (Models.Onnx.OnnxModelFile.IsOnnxPath(modelPath) && File.Exists(modelPath))
            throw new InvalidInputException(Path.GetFullPath(modelPath), "is an ONNX model: segment it with --engine onnx (on the CPU)");
        TorchRuntime.ConfigureThreads(options.Threads);
        var device = TorchRuntime.ResolveDevice(options.Device);
        var (precision, weightType) = InferencePrecision.Parse(options.Precision, device);
        var compute = new ComputeSettings(precision, options.ChannelsLast);
        var members = new List<Member>();
        try
        {
            foreach (var (manifest, weights) in CheckpointManifest.LocateAll(modelPath))
                members.Add(Member.Load(manifest, weights, compute, weightType, device, options.FoldBatchNorm));
        }
        catch
        {
            foreach (var member in members) member.Dispose();
            throw;
        }
        return new Segmenter(members, options, clock.Elapsed);
    }

    /// <summary>The post-processing the models carry when they all carry the same; otherwise segment's default.</summary>
    public static PostProcessingOptions ModelPostProcessing(IEnumerable<CheckpointManifest> manifests)
    {
        var carried = manifests.Select(m => m.PostProcessing ?? PostProcessingOptions.Default).Distinct().ToList();
        return carried.Count == 1 ? carried[0] : PostProcessingOptions.Default;
    }

    public StackSegmentation Segment(NiftiImage stack, bool keepProbabilities = false)
    {
        var clock = Stopwatch.StartNew();
        var timings = new SegmentationTimings(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        float[]? probabilities = null;
        foreach (var member in _members)
        {
            var (memberProbabilities, memberTimings) = member.Probabilities(stack, Options);
            timings = timings with
            {
                Prepare = timings.Prepare + memberTimings.Prepare,
                Network = timings.Network + memberTimings.Network,
                Restore = timings.Restore + memberTimings.Restore,
            };
            if (probabilities is null) probabilities = memberProbabilities;
            else for (int i = 0; i < probabilities.Length; i++) probabilities[i] += memberProbabilities[i];
        }
        if (_members.Count > 1) for (int i = 0; i < probabilities!.Length; i++) probabilities[i] /= _members.Count;
        long cleanUp = Stopwatch.GetTimestamp();
        var (mask, components) = PostProcessing.ApplyCounting(PostProcessing.Threshold(probabilities!, Options.Threshold), stack.Grid, ResolvedPostProcessing);
        var maskImage = stack.WithMask(mask);
        timings = timings with { PostProcess = Stopwatch.GetElapsedTime(cleanUp) };
        var probabilityImage = keepProbabilities ? stack.WithVoxels(probabilities, NiftiDataType.Float32) : null;
        return new StackSegmentation(maskImage, probabilityImage, clock.Elapsed, stack.SizeZ, timings, components);
    }

    public void Dispose()
    {
        foreach (var member in _members) member.Dispose();
    }

    /// <summary>One network (run by an <see cref="IInferenceEngine"/>) with the preprocessing it was trained with.</summary>
    private sealed class Member : IDisposable
    {
        private readonly IInferenceEngine _engine;
        private readonly SlicePreprocessor _preprocessor;

        public CheckpointManifest Manifest { get; }

        public Member(CheckpointManifest manifest, IInferenceEngine engine)
        {
            _engine = engine;
            Manifest = manifest;
            _preprocessor = new SlicePreprocessor(manifest.Preprocessing());
        }

        public static Member Load(CheckpointManifest manifest, string weights, ComputeSettings compute, ScalarType weightType, Device device, bool foldBatchNorm)
        {
            var model = manifest.CreateModel();
            try
            {
                ModelWeights.Load(model, weights);
            }
            catch
            {
                model.Dispose();
                throw;
            }
            model.eval();
            // In float32, before the weights move or change type.
            if (foldBatchNorm) BatchNormFolding.Fold(model);
            model.to(device);
            if (weightType != ScalarType.Float32) model.to(weightType);
            ComputeMode.Apply(model, compute.Precision, compute.ChannelsLast);
            return new Member(manifest, new TorchInferenceEngine(model, compute, weightType, device));
        }

        /// <summary>The stack's brain probabilities in its own grid, and where the time went (no post-processing).</summary>
        public (float[] Probabilities, SegmentationTimings Timings) Probabilities(NiftiImage stack, SegmentOptions options)
        {
            float[] voxels = stack.Scaled();
            var probabilities = new float[stack.VoxelCount];
            var timings = new SegmentationTimings(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
            var axes = Views(stack, options.Views);
            foreach (var axis in axes)
            {
                var view = AddView(stack, voxels, new VolumePlanes(axis, stack.SizeX, stack.SizeY, stack.SizeZ), options, probabilities);
                timings = timings with { Prepare = timings.Prepare + view.Prepare, Network = timings.Network + view.Network, Restore = timings.Restore + view.Restore };
            }
            if (axes.Count > 1)
                for (int i = 0; i < probabilities.Length; i++) probabilities[i] /= axes.Count;
            return (probabilities, timings);
        }

        private static IReadOnlyList<CutAxis> Views(NiftiImage stack, SegmentationViews views) =>
            views == SegmentationViews.ThreePlanes && stack.SizeZ * stack.SpacingZ >= MultiPlanarCuts.MinimumThroughPlaneMm
                ? [CutAxis.Z, CutAxis.X, CutAxis.Y]
                : [CutAxis.Z];

        /// <summary>Segments every plane across one axis and adds its probabilities, mapped back exactly, to the stack's voxels.</summary>
        private SegmentationTimings AddView(NiftiImage stack, float[] voxels, VolumePlanes planes, SegmentOptions options, float[] probabilities)
        {
            TimeSpan prepare = TimeSpan.Zero, network = TimeSpan.Zero, restore = TimeSpan.Zero;
            // Every plane of a view shares its size, spacing and orientation, hence one orientation and one geometry
            // record, planned on the plane as the network sees it (turned to the canonical orientation when the model was trained so).
            var orientation = Manifest.CanonicalOrientation ? InPlaneOrientation.FromAffine(planes.PlaneAffine(stack.Header.Affine())) : InPlaneOrientation.Identity;
            var (spacingU, spacingV) = planes.Spacing(stack.SpacingX, stack.SpacingY, stack.SpacingZ);
            var (width, height) = orientation.Size(planes.Width, planes.Height);
            var (spacingX, spacingY) = orientation.Spacing(spacingU, spacingV);
            var record = _preprocessor.Plan(width, height, spacingX, spacingY);
            int size = Manifest.Size, pixels = size * size, planePixels = planes.PixelCount;
            // Memory stays bounded by one batch of network inputs however many planes there are.
            for (int first = 0; first < planes.Count; first += options.BatchSize)
            {
                long start = Stopwatch.GetTimestamp();
                int count = Math.Min(options.BatchSize, planes.Count - first);
                var input = new float[count * pixels];
                // Planes are prepared and mapped back independently (the preprocessor is stateless, planes share no voxel), so on every core.
                Parallel.For(0, count, i =>
                {
                    var plane = new float[planePixels];
                    planes.Read<float>(voxels, first + i, plane);
                    _preprocessor.Image(orientation.IsIdentity ? plane : orientation.Apply<float>(plane, planes.Width, planes.Height), record, input.AsSpan(i * pixels, pixels));
                });
                long prepared = Stopwatch.GetTimestamp();
                var output = _engine.Probabilities(input, count, size, options.Tta);
                long predicted = Stopwatch.GetTimestamp();
                Parallel.For(0, count, i =>
                {
                    var prediction = output.AsSpan(i * pixels, pixels);
                    float[] restored = SlicePreprocessor.InverseProbabilities(prediction, record);
                    if (!orientation.IsIdentity) restored = orientation.Invert<float>(restored, planes.Width, planes.Height);
                    planes.Add(restored, first + i, probabilities);
                });
                prepare += Stopwatch.GetElapsedTime(start, prepared);
                network += Stopwatch.GetElapsedTime(prepared, predicted);
                restore += Stopwatch.GetElapsedTime(predicted);
            }
            return new SegmentationTimings(prepare, network, restore, TimeSpan.Zero);
        }

        public void Dispose() => _engine.Dispose();
    }
}

/// <summary>
/// The --precision of inference. fp32; bf16-mixed: fp32 weights with bf16 convolutions, exactly as the
/// green recipe trains; bf16-pure: weights and activations in bf16 throughout, no casts around each
/// convolution and half the memory traffic. auto, the default, is bf16-pure where bf16 is computed in
/// hardware (CUDA, or AVX-512 bf16 that libtorch may use: see NativeEnvironment), where it is the fastest and
/// its 8-bit mantissa moves probabilities by far less than a threshold decides; elsewhere fp32.
/// </summary>
public static class InferencePrecision
{
    public const string Auto = "auto";
    public const string Fp32 = "fp32";
    public const string Bf16Mixed = "bf16-mixed";
    public const string Bf16Pure = "bf16-pure";
    public static IReadOnlyList<string> Names { get; } = [Auto, Fp32, Bf16Mixed, Bf16Pure, "fp16-mixed"];

    /// <summary>The convolutions' compute precision and the type the weights (and inputs) are held in.</summary>
    public static (Precision Compute, ScalarType Weights) Parse(string name, Device device)
    {
        string normalized = name.Trim().ToLowerInvariant();
        if (normalized == Auto) normalized = TorchRuntime.Bf16InHardware(device) ? Bf16Pure : Fp32;
        if (normalized == Bf16Pure) return (Models.Precision.Fp32, ScalarType.BFloat16);
        if (ChoiceNames.TryParse(normalized, out PrecisionChoice choice) && choice != PrecisionChoice.Auto)
            return (PrecisionOption.Resolve(choice, device), ScalarType.Float32);
        throw new GreenSegException($"precision '{name}': expected one of {string.Join(", ", Names)} (fp16-mixed on CUDA only)");
    }
}
