using TorchSharp;

namespace GreenSeg.Common;

/// <summary>Process-wide TorchSharp settings: threads and device selection.</summary>
public static class TorchRuntime
{
    /// <summary>Sets intra-op threads (0 = leave libtorch's default) and returns the count in force.</summary>
    /// <summary>More intra-op threads than this only adds waiting (libtorch starts every one of them); far more hangs the process.</summary>
    public static int MaxThreads => Math.Max(64, 4 * Environment.ProcessorCount);

    /// <summary>Throws a <see cref="GreenSegException"/> for a thread count that cannot be meant (negative, or beyond <see cref="MaxThreads"/>).</summary>
    public static void ValidateThreads(int threads)
    {
        if (threads < 0 || threads > MaxThreads)
            throw new GreenSegException($"threads must lie in 0..{MaxThreads} (0: libtorch's default; this machine has {Environment.ProcessorCount} cores), got {threads}");
    }

    public static int ConfigureThreads(int threads)
    {
        ValidateThreads(threads);
        if (threads > 0) torch.set_num_threads(threads);
        return torch.get_num_threads();
    }

    /// <summary>Whether bf16 runs in hardware on this device: CUDA, or a CPU whose AVX-512 bf16 libtorch may use (what the "auto" precisions follow).</summary>
    public static bool Bf16InHardware(torch.Device device) => device.type == DeviceType.CUDA || NativeEnvironment.NativeBf16;

    /// <summary>Parses "cpu", "cuda" or "cuda:N"; CUDA only where TorchSharp's CUDA package is installed.</summary>
    public static torch.Device ResolveDevice(string name)
    {
        string normalized = name.Trim().ToLowerInvariant();
        if (normalized == "cpu") return torch.CPU;
        if (normalized.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new GreenSegException($"device '{name}': CUDA is not available (this build has TorchSharp-cpu; install TorchSharp-cuda-linux and a CUDA driver)");
            return torch.device(normalized);
        }
        throw new GreenSegException($"device '{name}': expected cpu, cuda or cuda:N");
    }
}
