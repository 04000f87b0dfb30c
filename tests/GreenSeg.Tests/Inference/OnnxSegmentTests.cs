using GreenSeg.Imaging;
using GreenSeg.Models.Onnx;
using GreenSeg.Phantom;
using GreenSeg.Tests.Cli;
using GreenSeg.Training;
using Xunit.Abstractions;

namespace GreenSeg.Tests.Inference;

/// <summary>
/// A U-Net (width 8, 32 x 32 at 8 mm) trained briefly on one phantom T2W stack, until it finds the brain of the
/// held-out T2W test stack (Dice about 0.7): masks with an edge to lose, for comparing engines and int8 with fp32.
/// </summary>
public sealed class PhantomUNet : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("greenseg-onnx-model-").FullName;
    public string Phantom => Path.Combine(Root, "phantom");
    public string RunFolder => Path.Combine(Root, "run");
    public string TestStack => NiftiFiles.InFolder(Path.Combine(Phantom, "test_volume", "images")).Single();
    public string TestMask => NiftiFiles.InFolder(Path.Combine(Phantom, "test_volume", "masks")).Single();

    public PhantomUNet()
    {
        PhantomWriter.WriteDataset(Phantom, new PhantomOptions { Seed = 5, TrainStacks = new(1, 0, 0), TestStacks = new(1, 0, 0) });
        Trainer.Train(new TrainingOptions
        {
            Data = Phantom, Final = true, Model = "unet", ModelWidth = 8,
            Preprocessing = new() { Size = 32, Spacing = 8 },
            Schedule = new() { Epochs = 30 },
            Optimisation = new() { LearningRate = "1e-2", BatchSize = "8" },
            Loading = new() { Augment = false },
            Compute = new() { Precision = GreenSeg.Models.PrecisionChoice.Fp32, ChannelsLast = false, Threads = 2 },
        }, RunFolder);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

[Collection(nameof(ConsoleCollection))]
public sealed class OnnxSegmentTests(PhantomUNet model, ITestOutputHelper log) : IClassFixture<PhantomUNet>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-onnx-segment-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private byte[] Segment(string name, params string[] options)
    {
        string folder = Path.Combine(_root, name);
        var (exitCode, output) = CliRunner.Run(["segment", model.TestStack, "--out", folder, .. options]);
        exitCode.ShouldBe(0, output);
        return [.. NiftiImage.Read(Path.Combine(folder, NiftiFiles.Stem(model.TestStack) + "_mask.nii.gz")).Raw.Select(v => (byte)v)];
    }

    private static double Dice(byte[] a, byte[] b)
    {
        long both = a.Zip(b).Count(p => p.First != 0 && p.Second != 0), sum = a.Count(v => v != 0) + b.Count(v => v != 0);
        return sum == 0 ? 1 : 2.0 * both / sum;
    }

    private byte[] Truth => [.. NiftiImage.Read(model.TestMask).Raw.Select(v => v > 0 ? (byte)1 : (byte)0)];

    [Fact]
    public void TheOnnxEngineWritesTheTorchEnginesMask()
    {
        byte[] torch = Segment("torch", "-m", model.RunFolder, "--engine", "torch", "--precision", "fp32");
        byte[] onnx = Segment("onnx", "-m", model.RunFolder, "--engine", "onnx");
        Segment("default", "-m", model.RunFolder).ShouldBe(onnx, "on the CPU the default engine is ONNX Runtime");
        string file = Path.Combine(_root, "model.onnx");
        CliRunner.Run("export", model.RunFolder, "--out", file).ExitCode.ShouldBe(0);
        byte[] fromFile = Segment("onnx-file", "-m", file, "--engine", "onnx", "--tta", "flips");
        byte[] torchTta = Segment("torch-tta", "-m", model.RunFolder, "--engine", "torch", "--precision", "fp32", "--tta", "flips");

        log.WriteLine($"Dice with the truth: torch {Dice(torch, Truth):F4}; voxels differing torch/onnx {torch.Zip(onnx).Count(p => p.First != p.Second)}, with TTA {torchTta.Zip(fromFile).Count(p => p.First != p.Second)}");
        Dice(torch, Truth).ShouldBeGreaterThan(0.5, "the model has learnt to find the brain");
        Dice(onnx, torch).ShouldBeGreaterThanOrEqualTo(0.999);
        Dice(fromFile, torchTta).ShouldBeGreaterThanOrEqualTo(0.999);
    }

    [Theory]
    [InlineData("minmax")]
    [InlineData("percentile")]
    public void Int8MasksScoreWithin002DiceOfFp32(string method)
    {
        string int8 = Path.Combine(_root, $"int8-{method}.onnx");
        var (exitCode, output) = CliRunner.Run("export", model.RunFolder, "--format", "onnx", "--out", int8, "--precision", "int8",
            "--calibration", model.Phantom, "--calibration-slices", "16", "--calibration-method", method);
        exitCode.ShouldBe(0, output);
        output.ShouldContain("int8, calibrated by ");
        var written = OnnxModelFile.Read(int8);
        written.Precision.ShouldBe(OnnxPrecision.Int8);
        written.Proto.Graph.Node.Count(n => n.OpType == "QuantizeLinear").ShouldBeGreaterThan(10);

        byte[] fp32 = Segment("fp32", "-m", model.RunFolder, "--engine", "onnx", "--precision", "fp32");
        byte[] quantised = Segment("int8", "-m", int8, "--engine", "onnx");
        byte[] atLoad = Segment("int8-at-load", "-m", model.RunFolder, "--engine", "onnx", "--precision", "int8",
            "--calibration", model.Phantom, "--calibration-slices", "16", "--calibration-method", method);

        double fp32Dice = Dice(fp32, Truth), int8Dice = Dice(quantised, Truth);
        log.WriteLine($"{method}: Dice with the truth fp32 {fp32Dice:F4}, int8 {int8Dice:F4}; Dice int8/fp32 {Dice(quantised, fp32):F4}");
        fp32Dice.ShouldBeGreaterThan(0.5, "the model has learnt to find the brain");
        Math.Abs(int8Dice - fp32Dice).ShouldBeLessThanOrEqualTo(0.02);
        atLoad.ShouldBe(quantised, "quantising as the model loads gives the exported int8 model's masks");
    }
}
