using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Compression;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Evaluation;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Phantom;
using GreenSeg.Training;

namespace GreenSeg.Studies;

/// <summary>
/// Measures a study run's model as it would be deployed (<see cref="DeploymentMeasurement"/>): the file (model.pt, or the
/// model exported to OUT/runs/NAME/model.onnx in fp32 or int8, calibrated on the study's training stacks), the share of zero
/// convolution weights, parameters and GMACs, the validation stacks reassembled in 3D and segmented exactly as
/// <c>greenseg segment</c> does with that engine (Dice after post-processing), and the seconds and joules of segmenting
/// the phantom timing stack (<see cref="PhantomTimingStack"/>), the mean of <see cref="StudyDeployment.TimingStacks"/>
/// after one warm-up, energy from the run's energy plan (measured or estimated as training's is).
/// </summary>
public static class DeploymentMeter
{
    public const string OnnxFileName = "model.onnx";

    /// <param name="model">The checkpoint (a run folder, or a pruned model's folder).</param>
    /// <param name="folder">The run's own folder, where an ONNX export is written.</param>
    /// <param name="options">The run's recipe: threads, device and energy accounting.</param>
    /// <param name="split">The study's stacks: int8 is calibrated on the training ones (of <paramref name="options"/>' data), the held-out ones are scored.</param>
    public static DeploymentMeasurement Measure(string model, StudyInference inference, string folder, TrainingOptions options,
        (IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation) split, StudyDeployment deployment, CancellationToken cancellationToken = default)
    {
        var (manifest, weights) = CheckpointManifest.Locate(model);
        long parameters;
        double gigaMacs, sparsity;
        using (var network = manifest.CreateModel())
        {
            ModelWeights.Load(network, weights);
            var profile = ModelProfiler.Profile(network, manifest.Size, manifest.Size);
            (parameters, gigaMacs, sparsity) = (profile.Parameters, profile.GigaMacs, PruningMasks.ZeroShare(network));
        }
        int threads = TorchRuntime.ConfigureThreads(options.Compute.Threads);
        string deployed = weights;
        if (inference.Engine == InferenceEngine.Onnx)
        {
            Directory.CreateDirectory(folder);
            deployed = Path.Combine(folder, OnnxFileName);
            bool int8 = inference.OnnxPrecision == Models.Onnx.OnnxPrecision.Int8;
            OnnxModels.ExportCheckpoint(model, deployed, new OnnxExportOptions
            {
                Precision = inference.OnnxPrecision,
                Calibration = int8
                    ? new CalibrationOptions { Data = options.Data, Slices = deployment.CalibrationSlices, Stacks = [.. split.Train.Select(s => s.Id)] }
                    : null,
                Threads = threads,
            });
        }
        double megabytes = new FileInfo(deployed).Length / 1e6;

        using var segmenter = Segmenter.Load(inference.Engine == InferenceEngine.Onnx ? deployed : model, new SegmentOptions
        {
            Engine = inference.Engine,
            Precision = inference.Precision,
            FoldBatchNorm = inference.FoldBatchNorm,
            Device = options.Compute.Device,
            Threads = threads,
        });
        var dices = new List<double>();
        foreach (var stack in split.Validation)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var assembled = StackVolume.Assemble(stack);
            dices.Add(Overlap.Dice(segmenter.Segment(assembled.Image).Mask.BinaryMask(), assembled.MaskVoxels));
        }

        var timing = PhantomTimingStack.Create(deployment.TimingSlices, deployment.TimingSize);
        segmenter.Segment(timing); // warms the engine up (allocator, kernels); not timed
        using var energy = EnergySession.Start(options.ToEnergyOptions(TorchRuntime.ResolveDevice(options.Compute.Device)), $"deployment {Path.GetFileName(folder)}");
        energy.Monitor.BeginWindow("inference");
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < deployment.TimingStacks; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            segmenter.Segment(timing);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var measured = energy.Monitor.EndWindow("inference");
        return new DeploymentMeasurement(megabytes, sparsity, parameters, gigaMacs,
            dices.Count > 0 ? dices.Average() : null, Statistics.SampleStandardDeviation(dices),
            seconds / deployment.TimingStacks, measured.TotalJoules / deployment.TimingStacks, measured.AnyEstimated);
    }
}
