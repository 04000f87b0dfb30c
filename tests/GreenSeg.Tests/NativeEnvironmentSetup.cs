using System.Runtime.CompilerServices;

namespace GreenSeg.Tests;

internal static class NativeEnvironmentSetup
{
    /// <summary>Tests touch TorchSharp directly; GreenSeg's libtorch settings must be in place before they do.</summary>
    [ModuleInitializer]
    internal static void Apply() => GreenSeg.Common.NativeEnvironment.EnsureApplied();
}
