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

    /// <summary>Puts an input batch in the layout the model expects.</summary>
    public Tensor PrepareInput(Tensor input) => ChannelsLast ? ComputeMode.ToChannelsLast(input) : input;

    public override string ToString() =>
        $"{(Precision == Precision.Fp32 ? "fp32" : "bf16-compute")}/{(ChannelsLast ? "channels-last" : "NCHW")}";
}

/// <summary>
/// Switches a built model between compute modes without rebuilding it: the precision of every
/// <see cref="ComputeConvolution"/> and the memory layout of every 4D parameter (converted in place,
/// so optimizers that already hold the parameters keep working).
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

    /// <summary>Converts every 4D parameter to channels-last (or back to contiguous NCHW) in place.</summary>
    public static void SetLayout(nn.Module module, bool channelsLast)
    {
        using var noGrad = no_grad();
        foreach (var parameter in module.parameters())
        {
            if (parameter.dim() != 4) continue;
            using var converted = channelsLast ? ToChannelsLast(parameter) : parameter.contiguous();
            parameter.set_(converted);
        }
    }

    /// <summary>True when some 4D parameter is stored channels-last (not contiguous NCHW).</summary>
    public static bool UsesChannelsLast(nn.Module module) =>
        module.parameters().Any(p => p.dim() == 4 && !p.is_contiguous());

    /// <summary>NHWC strides for an NCHW-shaped 4D tensor; convolutions keep this layout.</summary>
    public static Tensor ToChannelsLast(Tensor tensor)
    {
        if (tensor.dim() != 4)
            throw new ArgumentException($"channels-last needs a 4D tensor, got shape [{string.Join(", ", tensor.shape)}]", nameof(tensor));
        return tensor.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }

    /// <summary>True when the tensor is stored channels-last (channel stride 1).</summary>
    public static bool IsChannelsLast(Tensor tensor)
    {
        if (tensor.dim() != 4) return false;
        using var permuted = tensor.permute(0, 2, 3, 1);
        return permuted.is_contiguous();
    }
}
