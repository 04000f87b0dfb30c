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
/// <summary>A sum over the processes of a data-parallel run, differentiable: its backward pass sums the gradients the same way.</summary>
public interface IProcessSum
{
    Tensor Sum(Tensor local);
}

public sealed class FinalizerSafeBatchNorm2d : TorchSharp.Modules.BatchNorm, IOnnxExportable
{
    public const double DefaultEps = 1e-5, DefaultMomentum = 0.1;

    private readonly Scalar _one = 1L.ToScalar();

    public FinalizerSafeBatchNorm2d(long features) : base(features, DefaultEps, DefaultMomentum, affine: true, track_running_stats: true, device: null, dtype: null, "BatchNorm2d")
    {
    }

    /// <summary>
    /// Set on every rank of a data-parallel run with <c>sync-batchnorm</c>: in training, the batch statistics are summed
    /// over all processes (a differentiable sum, so the backward pass sums too), as PyTorch's SyncBatchNorm does.
    /// </summary>
    public IProcessSum? ProcessSum { get; set; }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4) throw new ArgumentException($"expected 4D input (got {input.ndim}D input)");
    }

    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        if (training && track_running_stats && num_batches_tracked is { } batches) batches.add_(_one, _one);
        if (training && ProcessSum is { } processSum) return SynchronizedForward(input, processSum);
        bool batchStatistics = training || running_mean is null || running_var is null;
        var output = F.batch_norm(input, running_mean, running_var, weight, bias, batchStatistics, momentum ?? DefaultMomentum, eps);
        GC.KeepAlive(_one);
        return output;
    }

    /// <summary>
    /// Normalises with the mean and (biased) variance of the global batch, from per-channel sums and sums of squares
    /// summed over the processes; the running statistics take the unbiased variance, as batch_norm does.
    /// </summary>
    private Tensor SynchronizedForward(Tensor input, IProcessSum processSum)
    {
        long channels = input.shape[1];
        var x = input.to_type(ScalarType.Float32);
        long[] reduced = [0, 2, 3];
        var local = torch.cat([x.sum(reduced), (x * x).sum(reduced), torch.full(1, input.numel() / channels, ScalarType.Float32)]);
        var global = processSum.Sum(local);
        var count = global.narrow(0, 2 * channels, 1);
        var mean = global.narrow(0, 0, channels) / count;
        var variance = (global.narrow(0, channels, channels) / count - mean * mean).clamp_min(0);
        if (running_mean is not null && running_var is not null)
            using (torch.no_grad())
            {
                double m = momentum ?? DefaultMomentum, n = count.item<float>();
                running_mean.mul_(1 - m).add_(mean.detach() * m);
                running_var.mul_(1 - m).add_(variance.detach() * (m * n / Math.Max(1, n - 1)));
            }
        long[] perChannel = [1, channels, 1, 1];
        var scale = torch.rsqrt(variance + eps) * (weight ?? torch.ones(channels));
        var shift = (bias ?? torch.zeros(channels)) - mean * scale;
        return (x * scale.view(perChannel) + shift.view(perChannel)).to_type(input.dtype);
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
