namespace GreenSeg.Inference;

/// <summary>What runs the network in <c>greenseg segment</c>: TorchSharp (libtorch), or ONNX Runtime on the exported model.</summary>
public enum InferenceEngine
{
    /// <summary>The TorchSharp model (fp32, bf16; BatchNorm folded; channels-last).</summary>
    Torch,
    /// <summary>ONNX Runtime on the model exported to ONNX (in memory from a checkpoint, or a .onnx file): fp32 or int8.</summary>
    Onnx,
    /// <summary>
    /// The default: ONNX Runtime on the CPU, where it runs the same fp32 network about 5x faster than libtorch
    /// (<c>greenseg bench inference</c>); TorchSharp where only it can do what is asked (<see cref="SegmentOptions.ResolvedEngine"/>).
    /// Last, so the stored numbers of Torch and Onnx keep their meaning.
    /// </summary>
    Auto,
}

/// <summary>
/// A loaded network that turns a batch of prepared slices into logits. The segmenter prepares slices, maps results
/// back and post-processes; an engine only runs the network.
/// </summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>Logits for <paramref name="count"/> prepared slices (<paramref name="input"/>: count x size x size, row major); as many values out.</summary>
    float[] Logits(float[] input, int count, int size);

    /// <summary>Sigmoid probabilities of the same batch, averaged over the mirrored copies <paramref name="tta"/> asks for.</summary>
    float[] Probabilities(float[] input, int count, int size, TestTimeAugmentation tta) => EngineOutputs.Probabilities(this, input, count, size, tta);
}

/// <summary>Probabilities from an engine's logits, and the mirroring of slices, on host arrays.</summary>
public static class EngineOutputs
{
    public static float[] Probabilities(IInferenceEngine engine, float[] input, int count, int size, TestTimeAugmentation tta)
    {
        var mirrors = tta.Mirrors();
        float[]? sum = null;
        foreach (var mirror in mirrors)
        {
            var probabilities = engine.Logits(mirror.Apply(input, size), count, size);
            Sigmoid(probabilities);
            // A mirror is its own inverse: mirroring the output again puts each probability back on its pixel.
            probabilities = mirror.Apply(probabilities, size);
            if (sum is null) sum = probabilities;
            else for (int i = 0; i < sum.Length; i++) sum[i] += probabilities[i];
        }
        if (mirrors.Count > 1) for (int i = 0; i < sum!.Length; i++) sum[i] /= mirrors.Count;
        return sum!;
    }

    public static void Sigmoid(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = 1 / (1 + MathF.Exp(-values[i]));
    }
}
