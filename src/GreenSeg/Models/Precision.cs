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

    /// <summary>
    /// As <see cref="Bf16Mixed"/> with float16, for CUDA only (fp16 on CPU gives NaN losses); the training
    /// engine pairs it with dynamic loss scaling, since fp16's narrow range flushes small gradients to zero.
    /// </summary>
    Fp16Mixed,
}
