using GreenSeg.Common;
using GreenSeg.Evaluation;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Phantom;
using GreenSeg.Training;
using TorchSharp;

namespace GreenSeg.Experiments.Benchmarks;

/// <summary>Seconds to segment one stack with a model in one compute mode (median of the timed repeats).</summary>
public sealed record InferenceTiming(string Model, ComputeSettings Compute, int Width, int Height, int Slices, IReadOnlyList<double> Seconds)
{
    public double MedianSeconds => Statistics.Median(Seconds);
    public double MillisecondsPerSlice => MedianSeconds * 1000 / Slices;
}

/// <summary>
/// Times <see cref="Segmenter"/> (preprocessing, network, inverse resampling, thresholding and
/// post-processing: what <c>greenseg segment</c> does per stack) on a phantom T2W stack of a chosen
/// size, with a trained checkpoint or an untrained model of the zoo (the weights do not change the cost
/// of the network; post-processing of an untrained model's noisy mask may cost a little more).
/// </summary>
public static class InferenceSpeedBenchmark
{
    public static InferenceTiming Measure(string modelPath, ComputeSettings compute, NiftiImage stack, int repeats = 2)
    {
        if (repeats < 1) throw new GreenSegException($"benchmark: repeats must be at least 1, got {repeats}");
        using var segmenter = Segmenter.Load(modelPath, new SegmentOptions
        {
            Precision = compute.Precision == Precision.Bf16Mixed ? "bf16-mixed" : "fp32",
            ChannelsLast = compute.ChannelsLast,
        });
        segmenter.Segment(stack); // warm-up
        var seconds = Enumerable.Range(0, repeats).Select(_ => segmenter.Segment(stack).Elapsed.TotalSeconds).ToList();
        return new InferenceTiming(segmenter.Manifest.Model, compute, stack.SizeX, stack.SizeY, stack.SizeZ, seconds);
    }

    /// <summary>Writes a freshly initialised model of the zoo as a checkpoint folder <see cref="Segmenter"/> can load.</summary>
    public static string WriteUntrainedCheckpoint(string model, string folder, int size = 256, double spacing = 1.0, int? width = null)
    {
        Directory.CreateDirectory(folder);
        torch.manual_seed(0);
        using var network = ModelRegistry.Create(model, new ModelOptions { BaseFeatures = width });
        ModelWeights.Save(network, Path.Combine(folder, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = ModelRegistry.Describe(model).Name, ModelWidth = width, Spacing = spacing, Size = size, TrainedWith = "untrained (benchmark)" }
            .Save(folder);
        return folder;
    }

    /// <summary>A phantom T2W stack (256x256 at about 1 mm) with its slices repeated or cut to the asked depth.</summary>
    public static NiftiImage TestStack(int depth = 40, int seed = PhantomOptions.DefaultSeed)
    {
        if (depth < 1) throw new GreenSegException($"benchmark: stack depth must be at least 1, got {depth}");
        var stack = new PhantomGenerator(new PhantomOptions { Seed = seed }).Generate(new PhantomStackSpec(PhantomSequence.T2W, 0, IsTest: true));
        var values = new float[stack.SliceLength * depth];
        for (int z = 0; z < depth; z++) stack.ImageSlice(z % stack.Depth).CopyTo(values.AsSpan(z * stack.SliceLength, stack.SliceLength));
        return NiftiImage.Create(stack.Width, stack.Height, depth, stack.SpacingX, stack.SpacingY, stack.SpacingZ, values, NiftiDataType.Float32);
    }
}
