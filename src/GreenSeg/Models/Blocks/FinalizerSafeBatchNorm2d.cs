using GreenSeg.Models.Onnx;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// TorchSharp's 2D BatchNorm (same parameters, buffers and state-dict names, same arithmetic), except that
/// its batch counter is incremented with Scalars the module holds (the value and the alpha). TorchSharp 0.107's
/// own BatchNorm calls <c>num_batches_tracked.add_(1)</c>, which makes two temporary <c>Scalar</c>s (1, and an
/// alpha of 1) whose finalizers can free them while libtorch still reads them: cross-validations on this machine
/// died at random with "Unknown scalar type" or "For integral input tensors, argument alpha must not be a floating
/// point number" (see dotnet/TorchSharp pull requests 1434 and 1496).
/// </summary>
public sealed class FinalizerSafeBatchNorm2d : TorchSharp.Modules.BatchNorm, IOnnxExportable
{
    public const double DefaultEps = 1e-5, DefaultMomentum = 0.1;

    private readonly Scalar _one = 1L.ToScalar();

    public FinalizerSafeBatchNorm2d(long features) : base(features, DefaultEps, DefaultMomentum, affine: true, track_running_stats: true, device: null, dtype: null, "BatchNorm2d")
    {
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4) throw new ArgumentException($"expected 4D input (got {input.ndim}D input)");
    }

    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        if (training && track_running_stats && num_batches_tracked is { } batches) batches.add_(_one, _one);
        bool batchStatistics = training || running_mean is null || running_var is null;
        var output = F.batch_norm(input, running_mean, running_var, weight, bias, batchStatistics, momentum ?? DefaultMomentum, eps);
        GC.KeepAlive(_one);
        return output;
    }

    /// <summary>Eval mode: the running statistics.</summary>
    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) =>
        graph.BatchNormalization(input, weight!, bias!, running_mean!, running_var!, eps);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _one.Dispose();
        base.Dispose(disposing);
    }
}
