using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GreenSeg.Transforms;

public enum IntensityNormalization
{
    /// <summary>(v - mean) / std with mean and std over the slice's nonzero voxels; zero voxels stay zero.</summary>
    ZScoreNonzero,
    /// <summary>Values pass through unchanged (used to check geometry alone).</summary>
    None,
    /// <summary>
    /// (v - p1) / (p99 - p1) with the 1st and 99th percentiles of the slice's stored voxels, zeros included:
    /// background and padding stay near 0 and the brightest tissue near 1 however much of the mother's body
    /// is in the field of view, where a z-score's mean and spread follow the field of view.
    /// </summary>
    Percentile,
}

/// <summary>How slices are brought to the network's grid. Defaults: 1.0 mm, 256 x 256, z-score over nonzero voxels.</summary>
public sealed record PreprocessingOptions
{
    /// <summary>Bumped whenever the preprocessing arithmetic changes, so that disk caches keyed by <see cref="Fingerprint"/> go stale.</summary>
    public const int Version = 1;

    /// <summary>In-plane spacing (mm) that slices are resampled to, in both directions.</summary>
    public double TargetSpacing { get; init; } = 1.0;
    public int TargetWidth { get; init; } = 256;
    public int TargetHeight { get; init; } = 256;
    public IntensityNormalization Normalization { get; init; } = IntensityNormalization.ZScoreNonzero;
    /// <summary>
    /// Slices are turned to one canonical in-plane orientation (<see cref="InPlaneOrientation"/>) before this
    /// preprocessing. The callers that know the image's affine do it (training's sample preparation, the
    /// segmenter); here it keys the caches, whose slices differ with it.
    /// </summary>
    public bool CanonicalOrientation { get; init; }

    public void Validate()
    {
        if (!double.IsFinite(TargetSpacing) || TargetSpacing <= 0)
            throw new ArgumentOutOfRangeException(nameof(TargetSpacing), TargetSpacing, "target spacing must be a positive number of millimetres");
        if (TargetWidth is < 1 or > 8192 || TargetHeight is < 1 or > 8192)
            throw new ArgumentOutOfRangeException(nameof(TargetWidth), $"{TargetWidth}x{TargetHeight}", "target size must be 1..8192 per side");
        if (!Enum.IsDefined(Normalization))
            throw new ArgumentOutOfRangeException(nameof(Normalization), Normalization, "unknown normalisation");
    }

    /// <summary>
    /// A short stable key of every option and <see cref="Version"/> (hex of SHA-256 over a canonical,
    /// culture-invariant text), for naming disk caches of preprocessed slices.
    /// </summary>
    public string Fingerprint()
    {
        // The orientation is named only when on, so the caches of runs without it keep their keys.
        string canonical = string.Create(CultureInfo.InvariantCulture,
            $"preprocessing v{Version};spacing={TargetSpacing:R};size={TargetWidth}x{TargetHeight};normalization={Normalization}{(CanonicalOrientation ? ";canonical-orientation" : "")}");
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(canonical));
        return Convert.ToHexStringLower(hash, 0, 8);
    }
}
