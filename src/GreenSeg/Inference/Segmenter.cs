using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Inference;

public sealed record SegmentOptions
{
    /// <summary>Probability above which a voxel is brain.</summary>
    public float Threshold { get; init; } = 0.5f;
    /// <summary>Average the prediction with that of the left-right flipped slice.</summary>
    public bool FlipTta { get; init; }
    public PostProcessingOptions PostProcessing { get; init; } = PostProcessingOptions.Default;
    public int BatchSize { get; init; } = 8;
    public string Precision { get; init; } = "bf16-mixed";
    public bool ChannelsLast { get; init; } = true;
    public string Device { get; init; } = "cpu";
}

/// <summary>A stack's segmentation in its own geometry, and how long it took.</summary>
public sealed record StackSegmentation(NiftiImage Mask, NiftiImage? Probabilities, TimeSpan Elapsed, int Slices);

/// <summary>
/// Segments stacks slice by slice with a trained model: each slice goes through the training
/// preprocessing, the network, and the exact inverse back to the slice's own grid; the 3D mask is then
/// thresholded and post-processed, and written with the input's header geometry.
/// </summary>
public sealed class Segmenter : IDisposable
{
    private readonly SegmentationModel _model;
    private readonly SlicePreprocessor _preprocessor;
    private readonly ComputeSettings _compute;
    private readonly Device _device;

    public SegmentOptions Options { get; }
    public CheckpointManifest Manifest { get; }
    public TimeSpan LoadTime { get; }

    private Segmenter(SegmentationModel model, CheckpointManifest manifest, SegmentOptions options, ComputeSettings compute, Device device, TimeSpan loadTime)
    {
        _model = model;
        Manifest = manifest;
        Options = options;
        _compute = compute;
        _device = device;
        LoadTime = loadTime;
        _preprocessor = new SlicePreprocessor(new PreprocessingOptions { TargetSpacing = manifest.Spacing, TargetWidth = manifest.Size, TargetHeight = manifest.Size });
    }

    /// <summary>Loads a model from a run folder, checkpoint folder or model.pt (with model.json beside it).</summary>
    public static Segmenter Load(string modelPath, SegmentOptions? options = null)
    {
        options ??= new SegmentOptions();
        var clock = Stopwatch.StartNew();
        var (manifest, weights) = CheckpointManifest.Locate(modelPath);
        var device = TorchRuntime.ResolveDevice(options.Device);
        var precision = PrecisionOption.Parse(options.Precision, device);
        var model = ModelRegistry.Create(manifest.Model, new ModelOptions { BaseFeatures = manifest.ModelWidth, InChannels = manifest.InChannels, OutChannels = manifest.OutChannels });
        try
        {
            ModelWeights.Load(model, weights);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.to(device);
        ComputeMode.Apply(model, precision, options.ChannelsLast);
        model.eval();
        return new Segmenter(model, manifest, options, new ComputeSettings(precision, options.ChannelsLast), device, clock.Elapsed);
    }

    public StackSegmentation Segment(NiftiImage stack, bool keepProbabilities = false)
    {
        var clock = Stopwatch.StartNew();
        int sliceLength = stack.SliceLength;
        var probabilities = new float[stack.VoxelCount];
        // Every slice of a stack shares its size and spacing, hence one geometry record.
        var record = _preprocessor.Plan(stack.SizeX, stack.SizeY, stack.SpacingX, stack.SpacingY);
        int size = Manifest.Size, pixels = size * size;
        var scaled = stack.Scaled();
        // Memory stays bounded by one batch of network inputs however long the stack is.
        for (int first = 0; first < stack.SizeZ; first += Options.BatchSize)
        {
            int count = Math.Min(Options.BatchSize, stack.SizeZ - first);
            var input = new float[count * pixels];
            for (int i = 0; i < count; i++)
            {
                int z = first + i;
                _preprocessor.Image(scaled.AsSpan(z * sliceLength, sliceLength), record, input.AsSpan(i * pixels, pixels));
            }
            var output = Predict(input, count, size);
            for (int i = 0; i < count; i++)
            {
                int z = first + i;
                SlicePreprocessor.InverseProbabilities(output.AsSpan(i * pixels, pixels), record, probabilities.AsSpan(z * sliceLength, sliceLength));
            }
        }
        var mask = PostProcessing.Apply(PostProcessing.Threshold(probabilities, Options.Threshold), stack.Grid, Options.PostProcessing);
        var probabilityImage = keepProbabilities ? stack.WithVoxels(probabilities, NiftiDataType.Float32) : null;
        return new StackSegmentation(stack.WithMask(mask), probabilityImage, clock.Elapsed, stack.SizeZ);
    }

    /// <summary>Sigmoid probabilities for a batch of prepared slices (flip test-time augmentation when asked).</summary>
    private float[] Predict(float[] input, int count, int size)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var images = _compute.PrepareInput(torch.tensor(input, [count, 1, size, size]).to(_device));
        var probabilities = torch.sigmoid(_model.call(images).to_type(ScalarType.Float32));
        if (Options.FlipTta)
        {
            var flipped = _compute.PrepareInput(images.flip(3));
            var back = torch.sigmoid(_model.call(flipped).to_type(ScalarType.Float32)).flip(3);
            probabilities = (probabilities + back) / 2;
        }
        return probabilities.contiguous().cpu().data<float>().ToArray();
    }

    public void Dispose() => _model.Dispose();
}
