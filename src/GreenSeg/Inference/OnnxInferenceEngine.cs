using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Models.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace GreenSeg.Inference;

/// <summary>How ONNX Runtime sessions are set up: intra-op threads (0: ONNX Runtime's default, one per physical core) and the device.</summary>
public sealed record OnnxSessionSettings(int Threads = 0, string Device = "cpu")
{
    public const string CudaProvider = "CUDAExecutionProvider";

    /// <summary>
    /// All graph optimisations (constant folding, Conv+activation fusion, QDQ → QLinearConv), sequential execution, and
    /// threads that sleep instead of spinning while they wait (GreenSeg's passive policy on shared machines). cuda or cuda:N
    /// adds the CUDA execution provider, which only ONNX Runtime's GPU package has; this build's CPU package refuses it clearly.
    /// </summary>
    public SessionOptions Create()
    {
        TorchRuntime.ValidateThreads(Threads);
        int? cudaDevice = CudaDevice(Device);
        if (cudaDevice is not null && !OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider))
            throw new GreenSegException($"--device {Device} with --engine onnx needs ONNX Runtime's CUDA execution provider, which is in the Microsoft.ML.OnnxRuntime.Gpu package; " +
                $"this GreenSeg is built with the CPU package only (providers: {string.Join(", ", OrtEnv.Instance().GetAvailableProviders())}). Use --device cpu, or --engine torch on a CUDA build");
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            InterOpNumThreads = 1,
        };
        try
        {
            if (Threads > 0) options.IntraOpNumThreads = Threads;
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            if (cudaDevice is { } id) options.AppendExecutionProvider_CUDA(id);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    /// <summary>The CUDA device a --device names, or null for the CPU.</summary>
    private static int? CudaDevice(string device)
    {
        string name = device.Trim().ToLowerInvariant();
        if (name == "cpu") return null;
        if (name == "cuda") return 0;
        if (name.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(name[5..], NumberStyles.None, CultureInfo.InvariantCulture, out int id)) return id;
        throw new GreenSegException($"device '{device}': expected cpu, cuda or cuda:N");
    }
}

/// <summary>
/// ONNX Runtime on a GreenSeg ONNX model (<see cref="OnnxExport"/>, fp32 or int8 QDQ): one session, the batch in as
/// <c>image</c> [count, 1, size, size], <c>logits</c> out.
/// </summary>
public sealed class OnnxInferenceEngine : IInferenceEngine
{
    private readonly InferenceSession _session;
    private readonly RunOptions _run = new();

    public OnnxPrecision Precision { get; }

    private OnnxInferenceEngine(InferenceSession session, OnnxPrecision precision)
    {
        _session = session;
        Precision = precision;
    }

    /// <summary>A session for a checked model; ONNX Runtime's own refusal is an <see cref="InvalidInputException"/> naming <paramref name="source"/>.</summary>
    public static OnnxInferenceEngine Create(OnnxModel model, OnnxSessionSettings settings, string source)
    {
        using var options = settings.Create();
        try
        {
            return new OnnxInferenceEngine(new InferenceSession(model.ToBytes(), options), model.Precision);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidInputException(source, $"ONNX Runtime cannot load the model: {e.Message}", e);
        }
    }

    public float[] Logits(float[] input, int count, int size)
    {
        using var image = OrtValue.CreateTensorValueFromMemory(input, [count, 1, size, size]);
        try
        {
            using var outputs = _session.Run(_run, [OnnxExport.InputName], [image], [OnnxExport.OutputName]);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            if (logits.Length != input.Length)
                throw new GreenSegException($"the ONNX model gave {logits.Length} logits for {count} slice(s) of {size}x{size}; expected one per pixel");
            return logits.ToArray();
        }
        catch (OnnxRuntimeException e)
        {
            throw new GreenSegException($"ONNX Runtime failed on {count} slice(s) of {size}x{size}: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _session.Dispose();
    }
}
