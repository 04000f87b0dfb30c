using GreenSeg.Common;
using GreenSeg.Models;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public class ModelRegistryTests
{
    [Fact]
    public void ListsTheNineArchitecturesOfTheStudy()
    {
        ModelRegistry.Names.ShouldBe(["unet", "attention-unet", "squeeze-unet", "att-squeeze-unet", "mobilenetv3-lraspp",
            "micronet", "efficientnet-b0-unet", "enet", "linknet"]);
        foreach (var info in ModelRegistry.Models)
        {
            info.Description.ShouldNotBeNullOrWhiteSpace();
            info.Reference.ShouldNotBeNullOrWhiteSpace();
        }
    }

    [Fact]
    public void UnknownNameIsRefusedWithTheValidNames()
    {
        var error = Should.Throw<GreenSegException>(() => ModelRegistry.Create("unet3d"));
        error.Message.ShouldContain("unet3d");
        foreach (var name in ModelRegistry.Names) error.Message.ShouldContain(name);
    }

    [Fact]
    public void NamesAreCaseInsensitive()
    {
        using var model = ModelRegistry.Create(" MicroNet ");
        model.ModelName.ShouldBe("micronet");
    }

    [Fact]
    public void ASeedMakesTheInitialWeightsReproducibleWhateverTheGlobalGeneratorDoes()
    {
        using var first = ModelRegistry.Create("micronet", new ModelOptions { Seed = 42 });
        using (randn(1000)) { }
        using var second = ModelRegistry.Create("micronet", new ModelOptions { Seed = 42 });
        using var other = ModelRegistry.Create("micronet", new ModelOptions { Seed = 43 });
        var a = first.parameters().ToList();
        var b = second.parameters().ToList();
        var c = other.parameters().ToList();
        for (int i = 0; i < a.Count; i++) ModelTestData.BitIdentical(a[i], b[i]).ShouldBeTrue();
        ModelTestData.BitIdentical(a[0], c[0]).ShouldBeFalse();
    }

    [Theory]
    [InlineData(0, 1, null)]
    [InlineData(1, 0, null)]
    [InlineData(1, 1, 2)]
    public void InvalidOptionsAreRefused(int inChannels, int outChannels, int? baseFeatures)
    {
        var options = new ModelOptions { InChannels = inChannels, OutChannels = outChannels, BaseFeatures = baseFeatures };
        Should.Throw<GreenSegException>(() => ModelRegistry.Create("unet", options));
    }

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void InputSidesNotDivisibleByTheStrideGiveAClearError(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions { BaseFeatures = 8 });
        int badSide = model.TotalStride * 3 + model.TotalStride / 2;
        using var input = zeros(1, 1, model.TotalStride * 2, badSide);
        var error = Should.Throw<GreenSegException>(() => model.call(input));
        error.Message.ShouldContain($"divisible by {model.TotalStride}");
        error.Message.ShouldContain($"{model.TotalStride * 2}x{badSide}");
        error.Message.ShouldContain(name);
    }

    [Fact]
    public void WrongChannelCountOrRankGivesAClearError()
    {
        using var model = ModelRegistry.Create("micronet");
        using var twoChannels = zeros(1, 2, 32, 32);
        Should.Throw<GreenSegException>(() => model.call(twoChannels)).Message.ShouldContain("1 input channel");
        using var unbatched = zeros(1, 32, 32);
        Should.Throw<GreenSegException>(() => model.call(unbatched)).Message.ShouldContain("N x 1 x H x W");
    }
}
