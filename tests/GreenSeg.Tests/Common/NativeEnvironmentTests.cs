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
