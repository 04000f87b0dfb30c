using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models;

/// <summary>A compute precision and memory layout for training or inference.</summary>
public sealed record ComputeSettings(Precision Precision, bool ChannelsLast)
{
    /// <summary>fp32, NCHW: the reference every faster mode is compared with.</summary>
    public static ComputeSettings Reference { get; } = new(Precision.Fp32, ChannelsLast: false);

    /// <summary>bf16 convolution compute on fp32 weights, channels-last: the fast mode on this project's CPUs.</summary>
    public static ComputeSettings Fast { get; } = new(Precision.Bf16Mixed, ChannelsLast: true);

    /// <summary>The input batch in the layout the model expects (a view, or a copy where the layout changes).</summary>
    public Tensor PrepareInput(Tensor input) => ChannelsLast ? ComputeMode.ToChannelsLast(input) : ComputeMode.ToNchw(input);

    public override string ToString() =>
        $"{Precision switch { Precision.Fp32 => "fp32", Precision.Bf16Mixed => "bf16-compute", _ => "fp16-compute" }}/{(ChannelsLast ? "channels-last" : "NCHW")}";
}

/// <summary>
/// Switches a built model between compute modes without rebuilding it: the precision and the memory
/// layout every <see cref="ComputeConvolution"/> computes in. Parameters are never touched (always
/// float32 NCHW), so optimizers, their state and checkpoints are the same in every mode.
/// </summary>
public static class ComputeMode
{
    public static void Apply(nn.Module module, ComputeSettings settings) =>
        Apply(module, settings.Precision, settings.ChannelsLast);

    public static void Apply(nn.Module module, Precision precision, bool channelsLast)
    {
        SetPrecision(module, precision);
        SetLayout(module, channelsLast);
    }

    public static void SetPrecision(nn.Module module, Precision precision)
    {
        foreach (var convolution in module.modules().Prepend(module).OfType<ComputeConvolution>())
            convolution.Precision = precision;
    }

    /// <summary>Switches every convolution to compute on channels-last views (inputs keep whatever layout they arrive in).</summary>
    public static void SetLayout(nn.Module module, bool channelsLast)
    {
        foreach (var convolution in module.modules().Prepend(module).OfType<ComputeConvolution>())
            convolution.ChannelsLast = channelsLast;
    }

    /// <summary>True when the model's convolutions compute channels-last.</summary>
    public static bool UsesChannelsLast(nn.Module module) =>
        module.modules().Prepend(module).OfType<ComputeConvolution>().Any(c => c.ChannelsLast);

    /// <summary>
    /// A channels-last view or copy of an NCHW-shaped tensor, with exactly the strides libtorch gives
    /// channels-last tensors: convolutions then keep the layout. Permuting alone is not enough where
    /// a dimension has size 1 (a 1-channel slice, a 1x1 or depthwise kernel): the copy is skipped and
    /// the strides stay NCHW, so the first convolution would send the whole network back to NCHW.
    /// </summary>
    public static Tensor ToChannelsLast(Tensor tensor) => ToLayout(tensor, channelsLast: true);

    /// <summary>A contiguous NCHW view or copy of a 4D tensor in any layout.</summary>
    public static Tensor ToNchw(Tensor tensor) => ToLayout(tensor, channelsLast: false);

    /// <summary>True when the tensor has exactly libtorch's channels-last strides (and more than one element per image).</summary>
    public static bool IsChannelsLast(Tensor tensor) =>
        tensor.dim() == 4 && tensor.shape[1] * tensor.shape[2] * tensor.shape[3] > 1
        && tensor.stride().SequenceEqual(Strides(tensor.shape, channelsLast: true));

    private static Tensor ToLayout(Tensor tensor, bool channelsLast)
    {
        if (tensor.dim() != 4)
            throw new ArgumentException($"memory layout needs a 4D tensor, got shape [{string.Join(", ", tensor.shape)}]", nameof(tensor));
        // Memory in the target order (no copy when it already is), then the exact strides as a view.
        using var ordered = channelsLast ? tensor.permute(0, 2, 3, 1).contiguous() : tensor.contiguous();
        return ordered.as_strided(tensor.shape, Strides(tensor.shape, channelsLast), ordered.storage_offset());
    }

    private static long[] Strides(long[] shape, bool channelsLast)
    {
        long c = shape[1], h = shape[2], w = shape[3];
        return channelsLast ? [h * w * c, 1, w * c, c] : [c * h * w, h * w, w, 1];
    }
}
