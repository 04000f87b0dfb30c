namespace GreenSeg.Models;

/// <summary>How convolutions compute. Weights are always stored in float32.</summary>
public enum Precision
{
    /// <summary>float32 inputs, weights and arithmetic.</summary>
    Fp32,

    /// <summary>
    /// float32 master weights; each convolution casts its input, weight and bias to bfloat16 and
    /// returns float32. Matches fp32 accuracy on this project's CPUs at about twice the speed
    /// (shared/notes/torchsharp-facts.md); pure bf16 weights lose small updates.
    /// </summary>
    Bf16Mixed,
}
