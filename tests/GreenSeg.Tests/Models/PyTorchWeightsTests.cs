using GreenSeg.Common;
using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public sealed class PyTorchWeightsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-pytorch-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static SegmentationModel Model(int seed, int width = 4) => ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = width, Seed = seed });

    private static bool SameWeights(nn.Module a, nn.Module b)
    {
        var left = a.state_dict();
        var right = b.state_dict();
        return left.Count == right.Count && left.All(p => right.TryGetValue(p.Key, out var other) && p.Value.shape.SequenceEqual(other.shape) && p.Value.equal(other).all().item<bool>());
    }

    [Theory]
    [InlineData("weights.safetensors")]
    [InlineData("weights.pth")]
    public void ARoundTripIsBitIdentical(string file)
    {
        using var source = Model(1);
        using (var noGrad = no_grad())
            foreach (var (name, buffer) in source.named_buffers().Where(b => b.name.EndsWith("running_mean"))) buffer.fill_(0.25f); // buffers travel too
        string path = Path.Combine(_folder, file);
        PyTorchWeights.Export(source, path, PyTorchWeights.FormatOf(path));
        using var target = Model(2);
        SameWeights(source, target).ShouldBeFalse();

        PyTorchWeights.Import(target, path);

        SameWeights(source, target).ShouldBeTrue();
    }

    [Fact]
    public void AFileOfAnotherWidthOrArchitectureIsRefusedNamingTheTensorsAndTheModelIsUntouched()
    {
        using var narrow = Model(1, width: 4);
        string path = Path.Combine(_folder, "narrow.safetensors");
        PyTorchWeights.Export(narrow, path, PyTorchFormat.Safetensors);
        using var wide = Model(3, width: 8);
        using var before = Model(3, width: 8);

        var error = Should.Throw<InvalidInputException>(() => PyTorchWeights.Import(wide, path));
        error.Path.ShouldBe(path);
        error.Problem.ShouldContain("other shape: ");
        error.Problem.ShouldContain("inConv.conv1.conv.weight [4, 1, 3, 3] (the model's is [8, 1, 3, 3])");
        SameWeights(wide, before).ShouldBeTrue();

        using var other = ModelRegistry.Create("micronet", new ModelOptions { Seed = 1 });
        var mismatch = Should.Throw<InvalidInputException>(() => PyTorchWeights.Import(other, path)).Problem;
        mismatch.ShouldContain("missing: ");
        mismatch.ShouldContain("not in the model: ");
    }

    [Fact]
    public void ADroppedTensorIsNamed()
    {
        using var model = Model(1);
        string path = Path.Combine(_folder, "partial.safetensors");
        var tensors = model.state_dict().Where(p => p.Key != "head.bias").ToDictionary(p => p.Key, p => p.Value);
        TorchSharp.PyBridge.Safetensors.SaveStateDict(path, tensors);
        Should.Throw<InvalidInputException>(() => PyTorchWeights.Import(Model(2), path)).Problem.ShouldContain("missing: head.bias");
    }

    [Theory]
    [InlineData("empty.safetensors", 0)]
    [InlineData("short.safetensors", 5)]
    [InlineData("noise.safetensors", 4096)]
    [InlineData("noise.pth", 4096)]
    [InlineData("empty.pt", 0)]
    public void MalformedFilesAreAClearError(string file, int bytes)
    {
        string path = Path.Combine(_folder, file);
        var random = new DeterministicRandom((ulong)bytes + 7);
        File.WriteAllBytes(path, Enumerable.Range(0, bytes).Select(_ => (byte)random.NextUInt64()).ToArray());
        using var model = Model(1);
        var error = Should.Throw<InvalidInputException>(() => PyTorchWeights.Import(model, path));
        error.Path.ShouldBe(path);
        error.Problem.ShouldStartWith("not a readable ");
    }

    [Fact]
    public void AHeaderLongerThanTheFileIsRefusedBeforeAnythingIsAllocated()
    {
        string path = Path.Combine(_folder, "huge.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(ulong.MaxValue / 2), .. "{}"u8.ToArray()]);
        Should.Throw<InvalidInputException>(() => PyTorchWeights.Import(Model(1), path)).Problem.ShouldContain("header length");
    }

    [Fact]
    public void OnlyKnownExtensionsAreAccepted()
    {
        Should.Throw<InvalidInputException>(() => PyTorchWeights.FormatOf("weights.onnx")).Problem.ShouldContain(".safetensors");
        PyTorchWeights.FormatOf("W.SAFETENSORS").ShouldBe(PyTorchFormat.Safetensors);
        PyTorchWeights.FormatOf("w.bin").ShouldBe(PyTorchFormat.StateDict);
    }

    [Fact]
    public void ACheckpointTravelsOutAndBackAsACheckpointSegmentCanUse()
    {
        using var model = Model(1);
        string run = Path.Combine(_folder, "run");
        Directory.CreateDirectory(run);
        ModelWeights.Save(model, Path.Combine(run, CheckpointManifest.WeightsFileName));
        var manifest = new CheckpointManifest { Model = "unet", ModelWidth = 4, Size = 64, Spacing = 3, PreprocessingVersion = 1 };
        manifest.Save(run);
        string exported = Path.Combine(_folder, "out.safetensors");
        PyTorchWeights.ExportCheckpoint(run, exported).ShouldBe(manifest);

        string imported = Path.Combine(_folder, "imported");
        string weights = PyTorchWeights.ImportCheckpoint(exported, manifest, imported);

        File.ReadAllBytes(weights).ShouldBe(File.ReadAllBytes(Path.Combine(run, CheckpointManifest.WeightsFileName)));
        CheckpointManifest.Locate(imported).Manifest.ShouldBe(manifest);
        Should.Throw<InvalidInputException>(() => PyTorchWeights.ImportCheckpoint(exported, manifest, imported)).Problem.ShouldContain("already holds a checkpoint");
    }

    [Theory]
    [InlineData("foreign.safetensors")]
    [InlineData("foreign.pt")]
    public void ExportNeverReplacesAFileAlreadyThere(string file)
    {
        using var model = Model(1);
        string run = Path.Combine(_folder, "run");
        Directory.CreateDirectory(run);
        ModelWeights.Save(model, Path.Combine(run, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = "unet", ModelWidth = 4, Size = 64, Spacing = 3, PreprocessingVersion = 1 }.Save(run);
        string foreign = Path.Combine(_folder, file);
        File.WriteAllText(foreign, "someone else's file");

        var error = Should.Throw<InvalidInputException>(() => PyTorchWeights.ExportCheckpoint(run, foreign));
        error.Path.ShouldBe(foreign);
        error.Problem.ShouldContain("already exists");
        File.ReadAllText(foreign).ShouldBe("someone else's file");
    }

    [Fact]
    public void AStructurallyPrunedModelImportsWithTheWidthsItsTensorsShow()
    {
        using var full = Model(1);
        int[] widths = [.. full.PrunableBlocks().Select(b => (int)Math.Max(1, b.InternalChannels.Producer.Conv.OutChannels / 2))];
        using var narrow = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, Seed = 2, InternalWidths = widths });
        string exported = Path.Combine(_folder, "narrow.safetensors");
        PyTorchWeights.Export(narrow, exported, PyTorchFormat.Safetensors);
        var described = new CheckpointManifest { Model = "unet", ModelWidth = 4, Size = 64, Spacing = 3, PreprocessingVersion = 1 };

        PyTorchWeights.InternalWidthsIn(exported, described).ShouldBe(widths);
        string weights = PyTorchWeights.ImportCheckpoint(exported, described, Path.Combine(_folder, "imported"));
        var (manifest, _) = CheckpointManifest.Locate(Path.Combine(_folder, "imported"));
        manifest.InternalWidths.ShouldBe(widths);
        using var imported = manifest.CreateModel();
        ModelWeights.Load(imported, weights);
        SameWeights(imported, narrow).ShouldBeTrue();

        // An unpruned file shows the default widths: nothing recorded.
        string plain = Path.Combine(_folder, "plain.safetensors");
        PyTorchWeights.Export(full, plain, PyTorchFormat.Safetensors);
        PyTorchWeights.InternalWidthsIn(plain, described).ShouldBeNull();
        // Wider than the architecture at the described width: not this model.
        using var wide = Model(1, width: 8);
        string wideFile = Path.Combine(_folder, "wide.safetensors");
        PyTorchWeights.Export(wide, wideFile, PyTorchFormat.Safetensors);
        Should.Throw<InvalidInputException>(() => PyTorchWeights.InternalWidthsIn(wideFile, described)).Problem.ShouldContain("more than");
    }
}
