namespace GreenSeg.Models;

/// <summary>The bounds a model's input may take, shared by training options and checkpoint manifests.</summary>
public static class ModelLimits
{
    public const int MinSize = 16, MaxSize = 4096, MaxModelWidth = 1024;
    /// <summary>Pixel spacings a slice can sensibly be resampled to: finer than any MRI, coarser than any brain needs.</summary>
    public const double MinSpacingMm = 0.05, MaxSpacingMm = 50;
}
