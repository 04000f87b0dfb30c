using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Models.Onnx;
using GreenSeg.Tests.Cli;
using Google.Protobuf;
using Onnx;

namespace GreenSeg.Tests.Inference;

/// <summary>ONNX files given to segment and export: what is refused, and how clearly.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class OnnxModelFileTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-onnx-file-").FullName;
    private readonly string _checkpoint;
    private readonly string _valid;

    public OnnxModelFileTests()
    {
        _checkpoint = TinyModel.UntrainedCheckpoint(Path.Combine(_root, "checkpoint"), size: 32);
        _valid = Path.Combine(_root, "model.onnx");
        OnnxModels.ExportCheckpoint(_checkpoint, _valid, new OnnxExportOptions());
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static SegmentOptions Onnx(string precision = "auto") => new() { Engine = InferenceEngine.Onnx, Precision = precision, Threads = 1 };

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string name, ModelProto model) => Write(name, model.ToByteArray());

    private ModelProto Valid() => ModelProto.Parser.ParseFrom(File.ReadAllBytes(_valid));

    private static InvalidInputException Refused(string path, SegmentOptions? options = null)
    {
        var error = Should.Throw<InvalidInputException>(() => Segmenter.Load(path, options ?? Onnx()).Dispose());
        error.Path.ShouldBe(Path.GetFullPath(path));
        return error;
    }

    [Fact]
    public void AnExportedFileDescribesItselfAndLoads()
    {
        var model = OnnxModelFile.Read(_valid);
        model.Precision.ShouldBe(OnnxPrecision.Fp32);
        model.Manifest.ShouldBe(CheckpointManifest.Locate(_checkpoint).Manifest);
        model.Proto.OpsetImport.Single().Version.ShouldBe(OnnxGraph.Opset);
        model.Proto.ProducerName.ShouldBe("GreenSeg");
        var metadata = model.Proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        metadata["greenseg.size"].ShouldBe("32");
        metadata["greenseg.spacing_mm"].ShouldBe("1");
        metadata["greenseg.normalization"].ShouldBe("ZScoreNonzero");
        metadata["greenseg.precision"].ShouldBe("fp32");
        metadata["greenseg.opset"].ShouldBe("17");
        metadata["greenseg.total_stride"].ShouldBe("16");
        metadata.ShouldContainKey("greenseg.manifest");
        model.Proto.Graph.Input.Single().Type.TensorType.Shape.Dim.Select(d => d.DimParam.Length > 0 ? d.DimParam : d.DimValue.ToString()).ShouldBe(["N", "1", "H", "W"]);
        model.Proto.Graph.Output.Single().Name.ShouldBe("logits");

        using var segmenter = Segmenter.Load(_valid, Onnx());
        segmenter.Manifest.ShouldBe(model.Manifest);
    }

    [Fact]
    public void TruncatedRandomAndEmptyFilesAreClearErrorsNamingTheFile()
    {
        byte[] bytes = File.ReadAllBytes(_valid);
        Refused(Write("truncated.onnx", bytes[..(bytes.Length / 2)])).Problem.ShouldStartWith("not an ONNX model");
        var random = new DeterministicRandom(3);
        Refused(Write("noise.onnx", [.. Enumerable.Range(0, 5000).Select(_ => (byte)random.NextUInt64())])).Problem.ShouldStartWith("not an ONNX model");
        Refused(Write("empty.onnx", [])).Problem.ShouldStartWith("not an ONNX model");
    }

    [Fact]
    public void AWrongInputOrOutputIsAClearError()
    {
        var renamed = Valid();
        renamed.Graph.Input[0].Name = "input";
        foreach (var node in renamed.Graph.Node)
            for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == "image") node.Input[i] = "input";
        Refused(Write("renamed.onnx", renamed)).Problem.ShouldBe("its input must be one 'image', float [N, 1, H, W]; it has 'input' float [N, 1, H, W]");

        var channels = Valid();
        channels.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = 3;
        Refused(Write("channels.onnx", channels)).Problem.ShouldContain("it has 'image' float [N, 3, H, W]");

        var rank = Valid();
        rank.Graph.Input[0].Type.TensorType.Shape.Dim.RemoveAt(3);
        Refused(Write("rank.onnx", rank)).Problem.ShouldContain("it has 'image' float [N, 1, H]");

        var output = Valid();
        output.Graph.Output[0].Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Double;
        Refused(Write("output.onnx", output)).Problem.ShouldContain("its output must be one 'logits'");
    }

    [Fact]
    public void MissingOrBadMetadataIsAClearError()
    {
        var bare = Valid();
        bare.MetadataProps.Clear();
        Refused(Write("bare.onnx", bare)).Problem.ShouldContain("has no GreenSeg metadata");

        var later = Valid();
        OnnxExport.SetMetadata(later, OnnxExport.Keys.Format, "99");
        Refused(Write("later.onnx", later)).Problem.ShouldContain("metadata format '99'");

        var manifest = Valid();
        OnnxExport.SetMetadata(manifest, OnnxExport.Keys.Manifest, "{\"Model\": \"unet\", \"Size\": 3}");
        Refused(Write("manifest.onnx", manifest)).Problem.ShouldContain("Size 3 must lie in");
    }

    [Fact]
    public void AGraphOnnxRuntimeRefusesIsAClearError()
    {
        var broken = Valid();
        broken.Graph.Node.First(n => n.OpType == "Conv").OpType = "NoSuchOperator";
        Refused(Write("broken.onnx", broken)).Problem.ShouldStartWith("ONNX Runtime cannot load the model");
    }

    [Fact]
    public void EngineAndPrecisionMismatchesAreRefusedWithWhatToDo()
    {
        Should.Throw<InvalidInputException>(() => Segmenter.Load(_valid, new SegmentOptions { Engine = InferenceEngine.Torch, Precision = "fp32" })).Problem.ShouldContain("--engine onnx");
        Should.Throw<GreenSegException>(() => Segmenter.Load(_checkpoint, new SegmentOptions { Engine = InferenceEngine.Torch, Precision = "int8" })).Message.ShouldContain("--engine onnx");
        Should.Throw<GreenSegException>(() => Segmenter.Load(_checkpoint, Onnx("int8"))).Message.ShouldContain("--calibration DATA");
        Should.Throw<GreenSegException>(() => Segmenter.Load(_checkpoint, Onnx("bf16-pure"))).Message.ShouldContain("does not run on the ONNX engine");
        Should.Throw<GreenSegException>(() => Segmenter.Load(_checkpoint, Onnx() with { Device = "cuda" })).Message.ShouldContain("Microsoft.ML.OnnxRuntime.Gpu");

        string stack = Path.Combine(_root, "stack.nii.gz");
        NiftiImage.Create(40, 40, 3, 1, 1, 2, [.. Enumerable.Range(0, 4800).Select(i => (float)(i % 61))], NiftiDataType.Int16).Write(stack);
        string int8 = Path.Combine(_root, "int8.onnx");
        OnnxModels.ExportCheckpoint(_checkpoint, int8, new OnnxExportOptions { Precision = OnnxPrecision.Int8, Calibration = new CalibrationOptions { Data = stack } });
        Refused(int8, Onnx("fp32")).Problem.ShouldContain("is an int8 model");
        using var segmenter = Segmenter.Load(int8, Onnx());
        segmenter.Segment(NiftiImage.Read(stack)).Mask.SizeZ.ShouldBe(3);
    }

    [Fact]
    public void ExportRefusesToReplaceAFileItDidNotWriteButReplacesItsOwn()
    {
        string foreign = Write("foreign.onnx", "not mine"u8.ToArray());
        var (exitCode, output) = CliRunner.Run("export", _checkpoint, "--out", foreign);
        exitCode.ShouldBe(3, output);
        output.ShouldContain("is not an ONNX model GreenSeg exported");
        File.ReadAllBytes(foreign).ShouldBe("not mine"u8.ToArray());

        var someoneElses = Valid();
        someoneElses.ProducerName = "pytorch";
        string other = Write("other.onnx", someoneElses);
        Should.Throw<InvalidInputException>(() => OnnxModels.ExportCheckpoint(_checkpoint, other, new OnnxExportOptions())).Path.ShouldBe(other);

        (exitCode, output) = CliRunner.Run("export", _checkpoint, "--out", _valid);
        exitCode.ShouldBe(0, output);
        output.ShouldContain("ONNX opset 17, fp32");
    }

    [Fact]
    public void ExportOptionsThatCannotWorkAreRefused()
    {
        CliRunner.Run("export", _checkpoint, "--out", Path.Combine(_root, "a.safetensors"), "--format", "onnx").Output.ShouldContain("does not match");
        CliRunner.Run("export", _checkpoint, "--out", Path.Combine(_root, "a.onnx"), "--precision", "int8").Output.ShouldContain("--calibration DATA");
        CliRunner.Run("export", _checkpoint, "--out", Path.Combine(_root, "a.pth"), "--precision", "int8").Output.ShouldContain("apply to --format onnx");
        var (exitCode, output) = CliRunner.Run("export", _checkpoint, "--out", Path.Combine(_root, "weights"), "--format", "onnx");
        exitCode.ShouldBe(0, output);
        OnnxModelFile.Read(Path.Combine(_root, "weights")).Precision.ShouldBe(OnnxPrecision.Fp32);
    }
}
