using System.Runtime.Serialization;
using GreenSeg.Common;
using static TorchSharp.torch;

namespace GreenSeg.Models;

/// <summary>The --precision option (the config's <c>compute: precision:</c>): a <see cref="Precision"/>, or auto.</summary>
public enum PrecisionChoice
{
    /// <summary>bf16-mixed where bf16 is computed in hardware (CUDA, or a CPU with AVX-512 bf16 that libtorch may use), else fp32.</summary>
    [EnumMember(Value = "auto")] Auto,
    [EnumMember(Value = "fp32")] Fp32,
    /// <summary>fp32 weights, bf16 convolutions.</summary>
    [EnumMember(Value = "bf16-mixed")] [AlsoAccepted("bf16")] Bf16Mixed,
    /// <summary>fp32 weights, fp16 convolutions with dynamic loss scaling; CUDA only.</summary>
    [EnumMember(Value = "fp16-mixed")] [AlsoAccepted("fp16")] Fp16Mixed,
}

/// <summary>
/// What a <see cref="PrecisionChoice"/> becomes on a device: auto (bf16-mixed where bf16 is computed in hardware,
/// on CUDA or a CPU with AVX-512 bf16 that libtorch may use; else fp32), fp32, bf16-mixed (fp32 weights, bf16
/// convolutions), fp16-mixed (CUDA only).
/// </summary>
public static class PrecisionOption
{
    public static Precision Resolve(PrecisionChoice choice, Device device) => choice switch
    {
        PrecisionChoice.Auto => TorchRuntime.Bf16InHardware(device) ? Precision.Bf16Mixed : Precision.Fp32,
        PrecisionChoice.Fp32 => Precision.Fp32,
        PrecisionChoice.Bf16Mixed => Precision.Bf16Mixed,
        PrecisionChoice.Fp16Mixed => device.type == TorchSharp.DeviceType.CUDA
            ? Precision.Fp16Mixed
            : throw new GreenSegException("precision fp16-mixed needs a CUDA device: fp16 on CPU gives NaN losses; use bf16-mixed on CPU"),
        _ => throw new GreenSegException($"precision '{choice}': {ChoiceNames.Expected(typeof(PrecisionChoice))}"),
    };

    /// <summary>Reads a precision's name (aliases bf16, fp16 included) and resolves it on <paramref name="device"/>.</summary>
    public static Precision Parse(string name, Device device) => Resolve(ChoiceNames.Parse<PrecisionChoice>(name, "precision"), device);

    /// <summary>The option's name of a resolved precision (what "auto" became).</summary>
    public static string Name(Precision precision) => precision switch
    {
        Precision.Fp32 => ChoiceNames.Name(PrecisionChoice.Fp32),
        Precision.Bf16Mixed => ChoiceNames.Name(PrecisionChoice.Bf16Mixed),
        _ => ChoiceNames.Name(PrecisionChoice.Fp16Mixed),
    };
}
