using GreenSeg.Common;
using static TorchSharp.torch;

namespace GreenSeg.Models;

/// <summary>
/// The --precision option: auto (bf16-mixed where bf16 is computed in hardware, on CUDA or a CPU with AVX-512
/// bf16 that libtorch may use; else fp32), fp32, bf16-mixed (fp32 weights, bf16 convolutions), fp16-mixed (CUDA only).
/// </summary>
public static class PrecisionOption
{
    public const string Auto = "auto";
    public static IReadOnlyList<string> Names { get; } = [Auto, "fp32", "bf16-mixed", "fp16-mixed"];

    public static Precision Parse(string name, Device device) => name.Trim().ToLowerInvariant() switch
    {
        Auto => TorchRuntime.Bf16InHardware(device) ? Precision.Bf16Mixed : Precision.Fp32,
        "fp32" => Precision.Fp32,
        "bf16-mixed" or "bf16" => Precision.Bf16Mixed,
        "fp16-mixed" or "fp16" => device.type == TorchSharp.DeviceType.CUDA
            ? Precision.Fp16Mixed
            : throw new GreenSegException("precision fp16-mixed needs a CUDA device: fp16 on CPU gives NaN losses; use bf16-mixed on CPU"),
        _ => throw new GreenSegException($"precision '{name}': expected one of {string.Join(", ", Names)}"),
    };

    /// <summary>The option's name of a resolved precision (what "auto" became).</summary>
    public static string Name(Precision precision) => precision switch
    {
        Precision.Fp32 => "fp32",
        Precision.Bf16Mixed => "bf16-mixed",
        _ => "fp16-mixed",
    };
}
