using GreenSeg.Common;
using GreenSeg.Inference;

namespace GreenSeg.Tests.Inference;

public class InferenceEngineChoiceTests
{
    [Theory]
    [InlineData("auto")]
    [InlineData("fp32")]
    [InlineData("INT8")]
    public void AutoRunsOnnxRuntimeOnTheCpuForThePrecisionsItHas(string precision) =>
        new SegmentOptions { Precision = precision }.ResolvedEngine.ShouldBe(InferenceEngine.Onnx);

    [Theory]
    [InlineData("cpu", "bf16-pure", true)]
    [InlineData("cpu", "bf16-mixed", true)]
    [InlineData("cuda", "auto", true)]
    [InlineData("cuda:1", "fp32", true)]
    [InlineData("cpu", "fp32", false)]
    public void AutoFallsBackToTorchWhereOnlyItCanDoWhatIsAsked(string device, string precision, bool foldBatchNorm) =>
        new SegmentOptions { Device = device, Precision = precision, FoldBatchNorm = foldBatchNorm }.ResolvedEngine.ShouldBe(InferenceEngine.Torch);

    [Theory]
    [InlineData(InferenceEngine.Torch)]
    [InlineData(InferenceEngine.Onnx)]
    public void AnEngineAskedForIsTheEngineUsed(InferenceEngine engine) =>
        new SegmentOptions { Engine = engine, Precision = "bf16-pure" }.ResolvedEngine.ShouldBe(engine);

    [Fact]
    public void Int8WhereOnlyTorchCanRunIsRefusedWithTheWayOut() =>
        Should.Throw<GreenSegException>(() => new SegmentOptions { Device = "cuda", Precision = "int8" }.Validate())
            .Message.ShouldContain("--engine onnx");
}
