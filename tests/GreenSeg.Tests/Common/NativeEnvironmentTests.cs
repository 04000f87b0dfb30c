using GreenSeg.Models;
using System.Runtime.InteropServices;
using GreenSeg.Common;
using GreenSeg.Inference;
using GreenSeg.Training;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Common;

public sealed class NativeEnvironmentTests
{
    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv(string name);

    private static string? Native(string name) => Marshal.PtrToStringAnsi(GetEnv(name));

    [Fact]
    public void LibtorchsSettingsAreInTheEnvironmentNativeCodeReads()
    {
        NativeEnvironment.Applied.Keys.ShouldContain("OMP_WAIT_POLICY");
        foreach (var (name, value) in NativeEnvironment.Applied)
            Native(name).ShouldBe(value.Replace(" (set by the user)", ""), name);
    }

    [Fact]
    public void LibtorchsLogLevelFollowsTheVariable()
    {
        // c10's levels: 0 info, 1 warning, 2 error, 3 fatal. Read from the libc10 libtorch computes with.
        using var loaded = zeros(1);
        var levels = new Dictionary<string, int> { ["INFO"] = 0, ["WARNING"] = 1, ["ERROR"] = 2, ["FATAL"] = 3 };
        int expected = Native("TORCH_CPP_LOG_LEVEL") is { } set && levels.TryGetValue(set.ToUpperInvariant(), out int level) ? level : 1;
        var c10 = NativeLibrary.Load("libc10.so", typeof(TorchSharp.torch).Assembly, null);
        Marshal.ReadInt32(NativeLibrary.GetExport(c10, "FLAGS_caffe2_log_level")).ShouldBe(expected);
    }

    [Fact]
    public void CappedAtAvx2TheAutoPrecisionsChooseFp32()
    {
        if (Environment.GetEnvironmentVariable(NativeEnvironment.AllowAvx512Variable) == "1") return;
        Native("ONEDNN_MAX_CPU_ISA").ShouldNotBeNull();
        if (!Native("ONEDNN_MAX_CPU_ISA")!.StartsWith("AVX2", StringComparison.OrdinalIgnoreCase)) return;

        NativeEnvironment.NativeBf16.ShouldBeFalse();
        PrecisionOption.Parse("auto", CPU).ShouldBe(GreenSeg.Models.Precision.Fp32);
        InferencePrecision.Parse("auto", CPU).ShouldBe((GreenSeg.Models.Precision.Fp32, ScalarType.Float32));
    }

    [Fact]
    public void ExplicitPrecisionsAreKept()
    {
        PrecisionOption.Parse("bf16-mixed", CPU).ShouldBe(GreenSeg.Models.Precision.Bf16Mixed);
        PrecisionOption.Name(PrecisionOption.Parse("fp32", CPU)).ShouldBe("fp32");
        InferencePrecision.Parse("bf16-pure", CPU).Weights.ShouldBe(ScalarType.BFloat16);
    }
}
