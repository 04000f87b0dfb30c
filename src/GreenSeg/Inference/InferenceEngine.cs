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

    /// <summary>Sigmoid probabilities of the same batch, averaged with those of the left-right flipped slices when <paramref name="flipTta"/>.</summary>
    float[] Probabilities(float[] input, int count, int size, bool flipTta) => EngineOutputs.Probabilities(this, input, count, size, flipTta);
}

/// <summary>Probabilities from an engine's logits, and the left-right flip of slices, on host arrays.</summary>
public static class EngineOutputs
{
    public static float[] Probabilities(IInferenceEngine engine, float[] input, int count, int size, bool flipTta)
    {
        var probabilities = engine.Logits(input, count, size);
        Sigmoid(probabilities);
        if (!flipTta) return probabilities;
        var back = engine.Logits(FlipX(input, size), count, size);
        Sigmoid(back);
        back = FlipX(back, size);
        for (int i = 0; i < probabilities.Length; i++) probabilities[i] = (probabilities[i] + back[i]) / 2;
        return probabilities;
    }

    public static void Sigmoid(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = 1 / (1 + MathF.Exp(-values[i]));
    }

    /// <summary>Every row of every size x size plane reversed (torch's <c>flip(3)</c> of an N x C x size x size batch).</summary>
    public static float[] FlipX(float[] planes, int size)
    {
        var flipped = new float[planes.Length];
        for (int row = 0; row < planes.Length / size; row++)
        {
            int start = row * size;
            for (int x = 0; x < size; x++) flipped[start + x] = planes[start + size - 1 - x];
        }
        return flipped;
    }
}
