using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

public enum Activation { None, ReLU, ReLU6, HardSwish, HardSigmoid, SiLU, Sigmoid, PReLU }

internal static class Activations
{
    /// <summary>A module for the activation (so profiler hooks see it), or null for <see cref="Activation.None"/>.</summary>
    public static nn.Module<Tensor, Tensor>? Create(Activation activation) => activation switch
    {
        Activation.None => null,
        Activation.ReLU => nn.ReLU(),
        Activation.ReLU6 => nn.ReLU6(),
        Activation.HardSwish => nn.Hardswish(),
        Activation.HardSigmoid => nn.Hardsigmoid(),
        Activation.SiLU => nn.SiLU(),
        Activation.Sigmoid => nn.Sigmoid(),
        // One shared slope, as in ENet.
        Activation.PReLU => nn.PReLU(1, 0.25),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };

    public static Tensor Apply(this nn.Module<Tensor, Tensor>? activation, Tensor x) => activation is null ? x : activation.call(x);
}

/// <summary>Channel arithmetic shared by the width-scalable models.</summary>
internal static class Channels
{
    /// <summary>Rounds to a multiple of <paramref name="divisor"/> without losing more than 10% (MobileNet / EfficientNet rule).</summary>
    public static int MakeDivisible(double channels, int divisor = 8)
    {
        int rounded = Math.Max(divisor, (int)(channels + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * channels ? rounded + divisor : rounded;
    }

    /// <summary>Scales a reference width, keeping at least one channel.</summary>
    public static int Scale(int channels, double factor) => Math.Max(1, (int)Math.Round(channels * factor));
}
