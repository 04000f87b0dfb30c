using GreenSeg.Benchmarks;
using GreenSeg.Imaging;
using GreenSeg.Models;
using GreenSeg.Training;

namespace GreenSeg.Tests.Benchmarks;

public sealed class InferenceSpeedBenchmarkTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-bench-inference-test-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void EveryModeTimesTheAskedStacksOfThePhantomWithRandomWeights()
    {
        var result = InferenceSpeedBenchmark.Run(new InferenceSpeedOptions { Model = "micronet", Stacks = 2, Slices = 3, Size = 32, BatchSize = 2 });

        result.Model.ShouldBe("micronet");
        result.Weights.ShouldBe("random weights");
        result.Input.ShouldBe("phantom stack 32x32x3");
        result.Slices.ShouldBe(3);
        result.Modes.Select(m => m.Mode).ShouldBe(InferenceSpeedBenchmark.SkipsBf16ByDefault
            ? InferenceSpeedBenchmark.Modes.Where(m => !m.IsTorchBf16)
            : InferenceSpeedBenchmark.Modes);
        foreach (var mode in result.Modes)
        {
            mode.Stacks.Count.ShouldBe(2);
            mode.MedianSeconds.ShouldBeGreaterThan(0);
            mode.MedianNetworkSeconds.ShouldBeLessThanOrEqualTo(mode.MedianSeconds);
        }
    }

    [Fact]
    public void ABf16ModeAskedForIsTimedEvenWithoutAHardwarePath()
    {
        var result = InferenceSpeedBenchmark.Run(new InferenceSpeedOptions { Model = "micronet", Stacks = 1, Slices = 2, Size = 32, BatchSize = 2, Modes = ["bf16-pure/channels-last"] });
        result.Modes.Single().Mode.IsTorchBf16.ShouldBeTrue();
    }

    [Fact]
    public void TheOnnxModesAloneAreTimedWhenAskedAndUnknownModesAreRefused()
    {
        var result = InferenceSpeedBenchmark.Run(new InferenceSpeedOptions { Model = "micronet", Stacks = 1, Slices = 3, Size = 32, BatchSize = 2, Modes = ["ONNX/fp32", "onnx/int8"] });

        result.Modes.Select(m => m.Mode.ToString()).ShouldBe(["onnx/fp32", "onnx/int8"]);
        result.Modes.ShouldAllBe(m => m.Mode.Engine == GreenSeg.Inference.InferenceEngine.Onnx && m.Stacks.Count == 1 && m.MedianNetworkSeconds > 0);
        Should.Throw<GreenSeg.Common.GreenSegException>(() => InferenceSpeedBenchmark.Run(new InferenceSpeedOptions { Modes = ["fp16/NCHW"] }))
            .Message.ShouldContain("unknown mode(s) fp16/NCHW");
    }

    [Fact]
    public void ATrainedCheckpointAndARealStackReplaceTheDefaults()
    {
        // A checkpoint as training writes it (micronet, 32x32 at 4 mm), and a 40x24x5 stack file.
        string checkpoint = Path.Combine(_folder, "checkpoint");
        Directory.CreateDirectory(checkpoint);
        using (var model = ModelRegistry.Create("micronet"))
            ModelWeights.Save(model, Path.Combine(checkpoint, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = "micronet", Spacing = 4, Size = 32, Epoch = 7 }.Save(checkpoint);
        string stack = Path.Combine(_folder, "subject_T2W.nii.gz");
        var voxels = Enumerable.Range(0, 40 * 24 * 5).Select(i => (float)(i % 97)).ToArray();
        NiftiImage.Create(40, 24, 5, 3, 3, 4, voxels, NiftiDataType.Int16).Write(stack);

        var result = InferenceSpeedBenchmark.Run(new InferenceSpeedOptions { Checkpoint = checkpoint, Stack = stack, Stacks = 1, BatchSize = 4 });

        result.Model.ShouldBe("micronet");
        result.Weights.ShouldBe("trained weights (32x32 at 4 mm, epoch 7)");
        result.Input.ShouldBe("subject_T2W.nii.gz 40x24x5");
        result.Slices.ShouldBe(5);
        result.Modes.ShouldAllBe(m => m.Stacks.Count == 1);
    }
}
