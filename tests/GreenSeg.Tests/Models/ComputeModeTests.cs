using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Models;

public class ComputeModeTests
{
    // Relative L2 error of bf16-compute logits against fp32 logits (eval mode, 64x64, trained BN statistics).
    // bf16 keeps 8 mantissa bits (0.4% per rounding); errors measured 0.2-1% over the zoo.
    private const double Bf16Tolerance = 0.03;
    // ENet's max-unpooling puts values where fp32/bf16 argmax ties fall, so a few near-ties move whole
    // values (measured 7-9%); still far from the ~100% a wrong cast or layout would give.
    private const double Bf16ToleranceWithUnpooling = 0.15;
    // Channels-last changes only the summation order: float32 round-off.
    private const double ChannelsLastTolerance = 1e-4;

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void Bf16ComputeAndChannelsLastStayCloseToFp32(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions { Seed = 4 });
        ModelTestData.UpdateBatchNormStatistics(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = ModelTestData.RandomNormal(4, 2, 1, 64, 64);
        var reference = model.call(input);

        ComputeMode.Apply(model, Precision.Fp32, channelsLast: true);
        var channelsLast = model.call(ComputeMode.ToChannelsLast(input));
        ModelTestData.RelativeError(channelsLast, reference).ShouldBeLessThan(ChannelsLastTolerance);

        ComputeMode.Apply(model, Precision.Bf16Mixed, channelsLast: true);
        var fast = model.call(ComputeMode.ToChannelsLast(input));
        fast.dtype.ShouldBe(ScalarType.Float32);
        double error = ModelTestData.RelativeError(fast, reference);
        error.ShouldBeGreaterThan(0, "bf16 compute must actually round");
        error.ShouldBeLessThan(name == "enet" ? Bf16ToleranceWithUnpooling : Bf16Tolerance, $"relative error {error:E2}");

        ComputeMode.Apply(model, ComputeSettings.Reference);
        var back = model.call(input);
        ModelTestData.RelativeError(back, reference).ShouldBeLessThan(ChannelsLastTolerance);
    }

    [Fact]
    public void ComputeModesSwitchEveryConvolutionAndNeverTouchTheParameters()
    {
        using var model = ModelRegistry.Create("mobilenetv3-lraspp");
        var before = model.parameters().ToList();
        ComputeMode.Apply(model, ComputeSettings.Fast);
        var after = model.parameters().ToList();
        after.Count.ShouldBe(before.Count);
        for (int i = 0; i < after.Count; i++) after[i].Handle.ShouldBe(before[i].Handle);
        // Parameters stay float32 NCHW, so optimizer state and checkpoints are plain contiguous tensors.
        after.ShouldAllBe(p => p.is_contiguous() && p.dtype == ScalarType.Float32);
        model.modules().OfType<GreenSeg.Models.Blocks.ComputeConvolution>().ShouldAllBe(c => c.Precision == Precision.Bf16Mixed && c.ChannelsLast);
        ComputeMode.UsesChannelsLast(model).ShouldBeTrue();

        ComputeMode.Apply(model, ComputeSettings.Reference);
        model.modules().OfType<GreenSeg.Models.Blocks.ComputeConvolution>().ShouldAllBe(c => c.Precision == Precision.Fp32 && !c.ChannelsLast);
        ComputeMode.UsesChannelsLast(model).ShouldBeFalse();
    }

    [Theory]
    [MemberData(nameof(ModelTestData.AllModels), MemberType = typeof(ModelTestData))]
    public void ChannelsLastReachesEveryLayer(string name)
    {
        // Any layer that silently falls back to NCHW costs a layout conversion on each side. Default
        // widths: at tiny widths a 1-channel squeeze has no layout libtorch can tell apart.
        using var model = ModelRegistry.Create(name);
        model.train();
        ComputeMode.Apply(model, ComputeSettings.Fast);
        var nchw = new List<string>();
        static bool HasLayout(Tensor t) => t.dim() == 4 && t.shape[1] > 1 && t.shape[2] * t.shape[3] > 1;
        foreach (var (layer, module) in model.named_modules())
        {
            if (module.children().Any() || module is not nn.Module<Tensor, Tensor> leaf) continue;
            leaf.register_forward_hook((_, input, output) =>
            {
                if (HasLayout(input) && !ComputeMode.IsChannelsLast(input)) nchw.Add($"{layer} (input)");
                if (HasLayout(output) && !ComputeMode.IsChannelsLast(output)) nchw.Add($"{layer} (output)");
                return output;
            });
        }
        using var scope = NewDisposeScope();
        model.call(ComputeMode.ToChannelsLast(randn(2, 1, 64, 64)));
        nchw.ShouldBeEmpty();
    }

    [Fact]
    public void LayoutConversionsHandleSizeOneDimensions()
    {
        using var scope = NewDisposeScope();
        // A 1-channel slice and a 1x1 kernel: permuting alone would leave NCHW strides.
        var slice = randn(2, 1, 8, 8);
        var sliceLast = ComputeMode.ToChannelsLast(slice);
        sliceLast.stride().ShouldBe([64, 1, 8, 1]);
        ModelTestData.BitIdentical(sliceLast, slice).ShouldBeTrue();
        var kernel = randn(4, 3, 1, 1);
        ComputeMode.ToChannelsLast(kernel).stride().ShouldBe([3, 1, 3, 3]);
        ComputeMode.IsChannelsLast(kernel).ShouldBeFalse();

        var features = randn(2, 3, 4, 5);
        var featuresLast = ComputeMode.ToChannelsLast(features);
        featuresLast.stride().ShouldBe([60, 1, 15, 3]);
        var back = ComputeMode.ToNchw(featuresLast);
        back.stride().ShouldBe([60, 20, 5, 1]);
        ModelTestData.BitIdentical(back, features).ShouldBeTrue();
        Should.Throw<ArgumentException>(() => ComputeMode.ToChannelsLast(randn(3, 4, 5)));
    }

    [Theory]
    [InlineData("micronet")]
    [InlineData("att-squeeze-unet")]
    [InlineData("enet")]
    public void Bf16TrainModeGivesFloat32GradientsToEveryFloat32Weight(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions { Seed = 5 });
        model.train();
        ComputeMode.Apply(model, ComputeSettings.Fast);
        using var scope = NewDisposeScope();
        var logits = model.call(ComputeMode.ToChannelsLast(ModelTestData.RandomNormal(5, 2, 1, 64, 64)));
        var target = (ModelTestData.RandomNormal(6, 2, 1, 64, 64) > 0).to(ScalarType.Float32);
        nn.functional.binary_cross_entropy_with_logits(logits, target).backward();
        foreach (var (parameterName, p) in model.named_parameters())
        {
            p.dtype.ShouldBe(ScalarType.Float32, parameterName);
            p.grad.ShouldNotBeNull(parameterName);
            p.grad!.dtype.ShouldBe(ScalarType.Float32, parameterName);
            isfinite(p.grad).all().item<bool>().ShouldBeTrue(parameterName);
            p.grad.abs().sum().item<float>().ShouldBeGreaterThan(0, parameterName);
        }
    }

    [Theory]
    [InlineData("micronet")]
    [InlineData("att-squeeze-unet")]
    public void Bf16GradientsPointWhereFp32GradientsPoint(string name)
    {
        // BatchNorm on running statistics (eval): with batch statistics, a random network's large
        // activation means make BN amplify any rounding difference layer after layer, for bf16 as for
        // any other perturbation, so the direct comparison is made without them.
        using var model = ModelRegistry.Create(name, new ModelOptions { Seed = 5 });
        ModelTestData.UpdateBatchNormStatistics(model, 128);
        using var scope = NewDisposeScope();
        var input = ModelTestData.RandomNormal(5, 4, 1, 128, 128);
        var target = (ModelTestData.RandomNormal(6, 4, 1, 128, 128) > 0).to(ScalarType.Float32);

        Tensor GradientVector(ComputeSettings settings)
        {
            ComputeMode.Apply(model, settings);
            model.zero_grad();
            var logits = model.call(settings.PrepareInput(input));
            nn.functional.binary_cross_entropy_with_logits(logits, target).backward();
            return cat(model.parameters().Select(p => p.grad!.flatten()).ToArray());
        }

        var reference = GradientVector(ComputeSettings.Reference);
        var fast = GradientVector(ComputeSettings.Fast);
        nn.functional.cosine_similarity(reference, fast, 0).item<float>().ShouldBeGreaterThan(0.99f);
        ModelTestData.RelativeError(fast, reference).ShouldBeLessThan(0.05);
    }

    [Fact]
    public void SwitchingMidTrainingKeepsTheOptimizerAndItsStateSavable()
    {
        using var model = ModelRegistry.Create("micronet", new ModelOptions { Seed = 6 });
        using var optimizer = optim.Adam(model.parameters(), 1e-2);
        void Step(ComputeSettings settings)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            model.call(settings.PrepareInput(ModelTestData.RandomNormal(7, 2, 1, 32, 32))).mean().backward();
            optimizer.step();
        }

        Step(ComputeSettings.Reference);
        var weight = model.parameters().First(p => p.dim() == 4 && p.shape[1] > 1);
        ComputeMode.Apply(model, ComputeSettings.Fast);
        using var before = weight.detach().clone();
        Step(ComputeSettings.Fast);
        ModelTestData.BitIdentical(weight, before).ShouldBeFalse();
        weight.is_contiguous().ShouldBeTrue();
        // Adam's moments follow the parameters' layout: TorchSharp can serialise them.
        using var state = new MemoryStream();
        optimizer.save_state_dict(new BinaryWriter(state));
        state.Length.ShouldBeGreaterThan(0);
    }
}
