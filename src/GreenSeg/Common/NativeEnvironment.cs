using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GreenSeg.Common;

/// <summary>
/// Settings libtorch reads from the environment once, when it loads or first computes, so they are put
/// into the process environment (libc's, which native code reads; .NET's copy is not seen there) before
/// any GreenSeg code touches TorchSharp. A value the user has set is never replaced.
/// <list type="bullet">
/// <item><c>ONEDNN_MAX_CPU_ISA=AVX2</c> and <c>ATEN_CPU_CAPABILITY=avx2</c>: on the project's machines
/// (AMD EPYC with AVX-512, in a sandbox) libtorch's AVX-512 kernels give wrong results at random: fp32
/// channels-last convolutions off by more than 1e-4, non-finite gradients, NaN losses after a few dozen
/// steps, more often under load. With both capped at AVX2 every check passes. Set
/// <c>GREENSEG_ALLOW_AVX512=1</c> on a machine whose AVX-512 is sound.</item>
/// <item><c>OMP_WAIT_POLICY=PASSIVE</c>: libtorch's OpenMP threads otherwise spin while they wait; when
/// another process holds a core, a 2-thread step ran 23x slower than a 1-thread one.</item>
/// <item><c>TORCH_CPP_LOG_LEVEL=ERROR</c> where capped: libtorch's NNPACK cannot start then and warns on convolutions.</item>
/// </list>
/// </summary>
public static class NativeEnvironment
{
    public const string AllowAvx512Variable = "GREENSEG_ALLOW_AVX512";

    /// <summary>
    /// Whether libtorch computes bf16 convolutions in hardware here: the CPU has AVX-512 bf16 instructions and
    /// libtorch may use them. Capped at AVX2, bf16 falls back to reference code about 20x slower than fp32,
    /// so the "auto" precisions choose fp32 then.
    /// </summary>
    public static bool NativeBf16 { get; private set; }

    /// <summary>The variables set and their values, as applied at start-up (for `greenseg info`).</summary>
    public static IReadOnlyDictionary<string, string> Applied { get; private set; } = new Dictionary<string, string>();

    /// <summary>
    /// Call first in a program that may touch TorchSharp before GreenSeg: touching this class runs the
    /// module initializer, which has then set the environment.
    /// </summary>
    public static void EnsureApplied() { }

    // A library module initializer on purpose: it must run before any GreenSeg code can load libtorch.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Prepare()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var defaults = new Dictionary<string, string> { ["OMP_WAIT_POLICY"] = "PASSIVE" };
        if (Environment.GetEnvironmentVariable(AllowAvx512Variable) != "1")
        {
            defaults["ONEDNN_MAX_CPU_ISA"] = "AVX2";
            defaults["ATEN_CPU_CAPABILITY"] = "avx2";
            // Capped, libtorch's NNPACK cannot start and says so on every convolution; its warnings go, errors stay.
            defaults["TORCH_CPP_LOG_LEVEL"] = "ERROR";
        }
        var applied = new Dictionary<string, string>();
        foreach (var (name, value) in defaults)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } own)
            {
                applied[name] = own + " (set by the user)";
                continue;
            }
            if (SetEnv(name, value, overwrite: 0) == 0) applied[name] = value;
        }
        Applied = applied;
        ApplyLibtorchLogLevel();
        string isa = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? (defaults.TryGetValue("ONEDNN_MAX_CPU_ISA", out var capped) ? capped : "");
        NativeBf16 = CpuFlags().Contains("avx512_bf16") && !isa.StartsWith("AVX2", StringComparison.OrdinalIgnoreCase)
            && !isa.StartsWith("SSE", StringComparison.OrdinalIgnoreCase) && !isa.Equals("AVX", StringComparison.OrdinalIgnoreCase);
    }

    private static HashSet<string> CpuFlags()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line is null ? [] : [.. line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>
    /// libtorch reads <c>TORCH_CPP_LOG_LEVEL</c> only in <c>c10::initLogging</c>, which PyTorch calls at import and
    /// TorchSharp never does: without this call the variable has no effect. Loading libc10 here is the copy libtorch links
    /// to later (the loader matches it by name).
    /// </summary>
    private static void ApplyLibtorchLogLevel()
    {
        try
        {
            InitC10Logging();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libtorch beside this program: nothing here logs through it.
        }
    }

    [DllImport("c10", EntryPoint = "_ZN3c1011initLoggingEv")]
    private static extern void InitC10Logging();

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi)]
    private static extern int SetEnv(string name, string value, int overwrite);
}
