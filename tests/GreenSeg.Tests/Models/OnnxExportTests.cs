using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Models.Onnx;
using GreenSeg.Phantom;
using Google.Protobuf;
using Onnx;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

/// <summary>Phantom slices prepared as segment prepares them, for comparing engines.</summary>
internal static class OnnxTestData
{
    /// <summary>Small widths that keep every architecture quick (at least what each needs).</summary>
    public static int Width(string model) => model is "unet" or "attention-unet" ? 4 : 8;

    /// <summary>The brain's middle slices of a phantom T2W stack (256 x 256 at 1 mm) as a stack.</summary>
    public static NiftiImage PhantomStack(int slices, PhantomSequence sequence = PhantomSequence.T2W)
    {
        var counts = sequence switch { PhantomSequence.T2W => new StackCounts(1, 0, 0), PhantomSequence.DWI => new StackCounts(0, 1, 0), _ => new StackCounts(0, 0, 1) };
        var generator = new PhantomGenerator(new PhantomOptions { Seed = 5, TrainStacks = counts, TestStacks = new(0, 0, 0) });
        var stack = generator.Generate(generator.Plan()[0]);
        var brain = Enumerable.Range(0, stack.Depth).Where(z => stack.BrainFraction(z) > 0).ToList();
        int first = brain[brain.Count / 2] - slices / 2;
        var values = new float[stack.SliceLength * slices];
        for (int z = 0; z < slices; z++) stack.ImageSlice(first + z).CopyTo(values.AsSpan(z * stack.SliceLength));
        return NiftiImage.Create(stack.Width, stack.Height, slices, stack.SpacingX, stack.SpacingY, stack.SpacingZ, values, NiftiDataType.Float32);
    }

    /// <summary>
    /// The largest |ONNX Runtime - TorchSharp| logit difference of a model (in eval mode) on three prepared phantom slices
    /// at the manifest's size, the largest |logit|, and the exported graph.
    /// </summary>
    public static (double Difference, double Largest, ModelProto Proto) CompareWithTorch(SegmentationModel model, CheckpointManifest manifest)
    {
        float[] input = Batch(manifest, PhantomStack(3));
        float[] expected;
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
            expected = model.call(tensor(input, [3, 1, manifest.Size, manifest.Size])).data<float>().ToArray();
        var proto = OnnxExport.ToModel(model, manifest);
        using var engine = OnnxInferenceEngine.Create(new OnnxModel(proto, manifest, OnnxPrecision.Fp32), new OnnxSessionSettings(), manifest.Model);
        float[] actual = engine.Logits(input, 3, manifest.Size);
        actual.Length.ShouldBe(expected.Length);
        return (actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max(), expected.Max(Math.Abs), proto);
    }

    /// <summary>A batch of prepared slices (count x size x size) for a manifest.</summary>
    public static float[] Batch(CheckpointManifest manifest, NiftiImage stack) =>
        [.. OnnxCalibration.Slices(manifest, stack, stack.SizeZ).SelectMany(s => s)];
}

public sealed class OnnxExportTests(ITestOutputHelper output)
{
    private const int Size = 64;

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void OnnxRuntimeGivesTheTorchSharpOutputOnPhantomSlicesWithin1e4(string name)
    {
        int width = OnnxTestData.Width(name);
        using var model = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = width, Seed = 7 });
        ModelTestData.UpdateBatchNormStatistics(model, Size);
        var manifest = new CheckpointManifest { Model = name, ModelWidth = width, Size = Size, Spacing = 4 };
        var (difference, largest, proto) = OnnxTestData.CompareWithTorch(model, manifest);
        var ops = proto.Graph.Node.Select(n => n.OpType).Distinct().Order(StringComparer.Ordinal);
        output.WriteLine($"{name} (width {width}): max |onnx - torch| = {difference:E2}, max |logit| = {largest:F2}; ops: {string.Join(", ", ops)}");
        difference.ShouldBeLessThan(1e-4, $"{name}: max |logit| {largest}");
    }

    [Fact]
    public void TheGraphTakesAnyBatchAndAnySizeThatIsAMultipleOfTheStride()
    {
        using var model = ModelRegistry.Create("micronet", new ModelOptions { BaseFeatures = 8, Seed = 2 });
        model.eval();
        var manifest = new CheckpointManifest { Model = "micronet", ModelWidth = 8, Size = Size, Spacing = 4 };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(OnnxExport.ToModel(model, manifest).ToByteArray());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = ModelTestData.RandomNormal(4, 2, 1, 32, 48);
        float[] expected = model.call(input).data<float>().ToArray();
        using var image = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(input.data<float>().ToArray(), [2, 1, 32, 48]);
        using var outputs = session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), ["image"], [image], ["logits"]);
        outputs[0].GetTensorTypeAndShape().Shape.ShouldBe([2, 1, 32, 48]);
        outputs[0].GetTensorDataAsSpan<float>().ToArray().Zip(expected, (a, e) => (double)Math.Abs(a - e)).Max().ShouldBeLessThan(1e-4);
    }

    [Fact]
    public void ExportLeavesTheModelAsItWasAndRefusesTrainingMode()
    {
        using var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, Seed = 2 });
        var manifest = new CheckpointManifest { Model = "unet", ModelWidth = 4, Size = Size, Spacing = 4 };
        Should.Throw<InvalidOperationException>(() => OnnxExport.ToModel(model, manifest));
        model.eval();
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());

        var proto = OnnxExport.ToModel(model, manifest);

        model.modules().OfType<GreenSeg.Models.Blocks.ConvNormAct>().ShouldAllBe(c => !c.Folded);
        var after = model.state_dict();
        after.Keys.ShouldBe(before.Keys);
        foreach (var (name, value) in after) ModelTestData.BitIdentical(value, before[name]).ShouldBeTrue(name);
        // Every BatchNorm of the U-Net is folded into its convolution: none in the graph, weights named after the modules.
        proto.Graph.Node.ShouldNotContain(n => n.OpType == "BatchNormalization");
        proto.Graph.Initializer.Select(i => i.Name).ShouldContain("inConv.conv1.conv.weight");
        proto.Graph.Initializer.Select(i => i.Name).ShouldContain("inConv.conv1.conv.bias");
    }

    [Fact]
    public void Int8PutsQuantizeDequantizePairsAroundEveryConvolutionsInputAndPerChannelInt8Weights()
    {
        using var model = ModelRegistry.Create("unet", new ModelOptions { BaseFeatures = 4, Seed = 2 });
        model.eval();
        var fp32 = OnnxExport.ToModel(model, new CheckpointManifest { Model = "unet", ModelWidth = 4, Size = Size, Spacing = 4 });
        var activations = QdqQuantizer.ActivationsToCalibrate(fp32);
        activations.ShouldContain("image");
        activations.ShouldNotContain("logits");

        var int8 = QdqQuantizer.Quantize(fp32, activations.ToDictionary(a => a, _ => new TensorRange(-1, 3)), "test ranges");

        var producers = int8.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var initializers = int8.Graph.Initializer.ToDictionary(i => i.Name);
        var convolutions = int8.Graph.Node.Where(n => n.OpType is "Conv" or "ConvTranspose").ToList();
        convolutions.Count.ShouldBe(fp32.Graph.Node.Count(n => n.OpType is "Conv" or "ConvTranspose"));
        foreach (var conv in convolutions)
        {
            var input = producers[conv.Input[0]];
            input.OpType.ShouldBe("DequantizeLinear", conv.Name);
            producers[input.Input[0]].OpType.ShouldBe("QuantizeLinear", conv.Name);
            initializers[input.Input[2]].DataType.ShouldBe((int)TensorProto.Types.DataType.Uint8);

            var weight = producers[conv.Input[1]];
            weight.OpType.ShouldBe("DequantizeLinear", conv.Name);
            var values = initializers[weight.Input[0]];
            values.DataType.ShouldBe((int)TensorProto.Types.DataType.Int8);
            int axis = conv.OpType == "Conv" ? 0 : 1;
            weight.Attribute.Single(a => a.Name == "axis").I.ShouldBe(axis);
            initializers[weight.Input[1]].Dims.ShouldBe([values.Dims[axis]]);

            var bias = producers[conv.Input[2]];
            initializers[bias.Input[0]].DataType.ShouldBe((int)TensorProto.Types.DataType.Int32);
        }
        // The float weights are gone; the logits stay float.
        int8.Graph.Initializer.ShouldNotContain(i => i.Name == "inConv.conv1.conv.weight");
        producers["logits"].OpType.ShouldBe("Conv");
        OnnxExport.Metadata(int8, OnnxExport.Keys.Precision).ShouldBe("int8");
        OnnxExport.Metadata(int8, OnnxExport.Keys.Calibration).ShouldBe("test ranges");
        OnnxExport.Metadata(fp32, OnnxExport.Keys.Precision).ShouldBe("fp32", "the fp32 model is not changed");
    }

    [Fact]
    public void WeightsAreQuantisedSymmetricallyPerOutputChannel()
    {
        float[] weights = [0.5f, -1f, 0.25f, 0.1f, 0, -0.05f, 0, 0, 0];
        var (values, scales) = QdqQuantizer.Int8PerChannel(weights, [3, 3], 0);
        scales.ShouldBe([1f / 127, 0.1f / 127, 1f], 1e-7);
        values.ShouldBe(new sbyte[] { 64, -127, 32, 127, 0, -64, 0, 0, 0 });
        QdqQuantizer.Uint8Parameters(new TensorRange(-1, 3)).ShouldBe((4f / 255, (byte)64));
        QdqQuantizer.Uint8Parameters(new TensorRange(0.5f, 2)).ShouldBe((2f / 255, (byte)0));
    }
}
