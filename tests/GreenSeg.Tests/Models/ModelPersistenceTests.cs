using GreenSeg.Common;
using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public sealed class ModelPersistenceTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("greenseg-weights-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void SaveThenLoadGivesBitIdenticalOutputs(string name)
    {
        var options = new ModelOptions { BaseFeatures = 8 };
        string path = Path.Combine(directory, $"{name}.bin");
        using var original = ModelRegistry.Create(name, options with { Seed = 11 });
        ModelTestData.UpdateBatchNormStatistics(original);
        ModelWeights.Save(original, path);

        using var restored = ModelRegistry.Create(name, options with { Seed = 12 });
        restored.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = randn(2, 1, 64, 64);
        var expected = original.call(input);
        ModelTestData.BitIdentical(restored.call(input), expected).ShouldBeFalse("a differently seeded model must differ before loading");

        ModelWeights.Load(restored, path);
        ModelTestData.BitIdentical(restored.call(input), expected).ShouldBeTrue();
    }

    [Fact]
    public void WeightsOfAChannelsLastModelSaveAndLoadInEitherMode()
    {
        var options = new ModelOptions { BaseFeatures = 8 };
        string path = Path.Combine(directory, "linknet-cl.bin");
        using var original = ModelRegistry.Create("linknet", options with { Seed = 13 });
        ModelTestData.UpdateBatchNormStatistics(original);
        ComputeMode.Apply(original, Precision.Fp32, channelsLast: true);
        ModelWeights.Save(original, path);
        ComputeMode.UsesChannelsLast(original).ShouldBeTrue();

        using var nchw = ModelRegistry.Create("linknet", options);
        ModelWeights.Load(nchw, path);
        using var channelsLast = ModelRegistry.Create("linknet", options);
        ComputeMode.Apply(channelsLast, Precision.Fp32, channelsLast: true);
        ModelWeights.Load(channelsLast, path);
        ComputeMode.UsesChannelsLast(channelsLast).ShouldBeTrue();

        nchw.eval();
        channelsLast.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = randn(1, 1, 64, 64);
        var expected = original.call(ComputeMode.ToChannelsLast(input));
        ModelTestData.RelativeError(nchw.call(input), expected).ShouldBeLessThan(1e-5);
        ModelTestData.BitIdentical(channelsLast.call(ComputeMode.ToChannelsLast(input)), expected).ShouldBeTrue();
    }

    [Fact]
    public void WeightsOfAnotherArchitectureAreRefusedWithThePath()
    {
        string path = Path.Combine(directory, "micronet.bin");
        using (var micronet = ModelRegistry.Create("micronet")) ModelWeights.Save(micronet, path);
        using var enet = ModelRegistry.Create("enet");
        var error = Should.Throw<InvalidInputException>(() => ModelWeights.Load(enet, path));
        error.Path.ShouldBe(path);
        Should.Throw<InvalidInputException>(() => ModelWeights.Load(enet, Path.Combine(directory, "missing.bin")));
    }
}
