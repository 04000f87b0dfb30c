using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <summary>
/// Knowledge distillation (Hinton et al. 2015) for a binary mask: a trained teacher runs on every training batch
/// and the student's loss becomes (1 - w) · task loss + w · T² · BCE(student logits / T, sigmoid(teacher logits / T)),
/// so the student learns the teacher's soft probabilities as well as the labels. The teacher runs in the student's
/// process, so its inference energy is part of the student's measured energy; <see cref="TeacherTime"/> says how much.
/// </summary>
public sealed class DistillationHook : ITrainingHook, IDisposable
{
    private readonly SegmentationModel _teacher;
    private long _teacherTicks;

    public double Weight { get; }
    public double Temperature { get; }
    public CheckpointManifest TeacherManifest { get; }
    /// <summary>Time spent in the teacher's forward passes so far.</summary>
    public TimeSpan TeacherTime => Stopwatch.GetElapsedTime(0, _teacherTicks);

    private DistillationHook(SegmentationModel teacher, CheckpointManifest manifest, double weight, double temperature)
    {
        _teacher = teacher;
        TeacherManifest = manifest;
        Weight = weight;
        Temperature = temperature;
    }

    /// <summary>
    /// Loads the teacher from a run folder, checkpoint folder or model.pt. Teacher and student see the same batches, so the
    /// teacher must have been trained on the same preprocessing; a difference is refused naming the field.
    /// </summary>
    public static DistillationHook Load(Transforms.PreprocessingOptions studentPreprocessing, ComputeSettings compute,
        Device device, DistillationSection options)
    {
        string teacherPath = options.DistillFrom ?? throw new ArgumentException("no teacher given", nameof(options));
        var (manifest, weights) = CheckpointManifest.Locate(teacherPath);
        if (Mismatch(manifest.Preprocessing(), studentPreprocessing) is { } field)
            throw new GreenSegException($"distill-from {teacherPath}: the teacher was trained with another {field} than this run uses; teacher and student must share the preprocessing");
        var teacher = manifest.CreateModel();
        try
        {
            ModelWeights.Load(teacher, weights);
            teacher.eval();
            BatchNormFolding.Fold(teacher); // same output, less work per batch
            teacher.to(device);
            ComputeMode.Apply(teacher, compute.Precision, compute.ChannelsLast);
            foreach (var parameter in teacher.parameters()) parameter.requires_grad = false;
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
        return new DistillationHook(teacher, manifest, options.DistillWeight, options.DistillTemperature);
    }

    /// <summary>The first preprocessing field in which teacher and student differ, or null.</summary>
    internal static string? Mismatch(Transforms.PreprocessingOptions teacher, Transforms.PreprocessingOptions student) =>
        teacher.TargetSpacing != student.TargetSpacing ? "spacing"
        : teacher.TargetWidth != student.TargetWidth || teacher.TargetHeight != student.TargetHeight ? "size"
        : teacher.Normalization != student.Normalization ? "normalization"
        : teacher.CanonicalOrientation != student.CanonicalOrientation ? "canonical-orientation"
        : null;

    public Tensor OnLoss(LossInputs inputs, Tensor loss)
    {
        long start = Stopwatch.GetTimestamp();
        Tensor soft;
        using (no_grad())
            soft = sigmoid(_teacher.call(inputs.Images).to_type(ScalarType.Float32) / Temperature);
        _teacherTicks += Stopwatch.GetTimestamp() - start;
        return Blend(loss, inputs.Logits, soft, Weight, Temperature);
    }

    /// <summary>(1 - w) · loss + w · T² · BCE(logits / T, teacher probabilities at T); T² keeps the soft term's gradients at the task's scale.</summary>
    internal static Tensor Blend(Tensor loss, Tensor studentLogits, Tensor teacherProbabilities, double weight, double temperature)
    {
        var distilled = nn.functional.binary_cross_entropy_with_logits(studentLogits.to_type(ScalarType.Float32) / temperature, teacherProbabilities);
        return loss * (1 - weight) + distilled * (weight * temperature * temperature);
    }

    public void Dispose() => _teacher.Dispose();
}
