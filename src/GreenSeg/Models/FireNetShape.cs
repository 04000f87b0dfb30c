using System.Globalization;
using GreenSeg.Common;

namespace GreenSeg.Models;

/// <summary>The parts of a <see cref="FireNetShape"/> a network lets change.</summary>
[Flags]
public enum FireNetParts
{
    None = 0,
    Stages = 1,
    FiresPerStage = 2,
    SqueezeRatio = 4,
    All = Stages | FiresPerStage | SqueezeRatio,
}

/// <summary>
/// The shape of the fire-module networks (micronet, squeeze-unet, att-squeeze-unet), for architecture search: how many
/// downsampling stages, how many fire modules each encoder stage has, and how wide a fire module's squeeze layer is
/// against its output. A fire module's expand width is half its output width, the stage's width, which
/// <see cref="ModelOptions.BaseFeatures"/> (model-width) scales. Every part left null keeps the network's own design, so
/// the default shape builds exactly the network built before the shape existed. The config's <c>fire-net:</c> section,
/// and a checkpoint's model.json, so a searched network loads again.
/// </summary>
public sealed record FireNetShape
{
    public const int MaxStages = 6, MaxFiresPerStage = 8;

    /// <summary>Downsampling stages (each halves the resolution; input sides must be multiples of 2^stages); null: the network's (4).</summary>
    public int? Stages { get; init; }

    /// <summary>Fire modules in every encoder stage (squeeze-unet's stride-2 fire counts as one); null: the network's own pattern.</summary>
    public int? FiresPerStage { get; init; }

    /// <summary>Squeeze channels per fire output channel, in (0, 1] (SqueezeNet's squeeze ratio); null: the network's own widths.</summary>
    public double? SqueezeRatio { get; init; }

    /// <summary>Whether every part keeps the network's own design.</summary>
    public bool IsDefault() => Stages is null && FiresPerStage is null && SqueezeRatio is null;

    /// <summary>The parts this shape changes.</summary>
    public FireNetParts Changed() =>
        (Stages is null ? FireNetParts.None : FireNetParts.Stages)
        | (FiresPerStage is null ? FireNetParts.None : FireNetParts.FiresPerStage)
        | (SqueezeRatio is null ? FireNetParts.None : FireNetParts.SqueezeRatio);

    /// <summary>What makes the shape unusable, by its config key; null when it is fine.</summary>
    public string? Problem()
    {
        if (Stages is < 1 or > MaxStages) return $"fire-net stages must lie in 1..{MaxStages}, got {Stages}";
        if (FiresPerStage is < 1 or > MaxFiresPerStage) return $"fire-net fires-per-stage must lie in 1..{MaxFiresPerStage}, got {FiresPerStage}";
        if (SqueezeRatio is double ratio && !(ratio > 0 && ratio <= 1))
            return $"fire-net squeeze-ratio must lie in (0, 1], got {ratio.ToString(CultureInfo.InvariantCulture)}";
        return null;
    }

    /// <summary>Throws a <see cref="GreenSegException"/> naming the first part that cannot work.</summary>
    public FireNetShape Validate() => Problem() is { } problem ? throw new GreenSegException(problem) : this;

    /// <summary>Squeeze channels of a fire module with this many output channels: the ratio's share (at least 1), or the network's own.</summary>
    internal long Squeeze(long outChannels, double networkRatio) =>
        Math.Max(1, (long)(outChannels * (SqueezeRatio ?? networkRatio)));

    public override string ToString()
    {
        if (IsDefault()) return "the network's own shape";
        var parts = new List<string>();
        if (Stages is int stages) parts.Add($"{stages} stages");
        if (FiresPerStage is int fires) parts.Add($"{fires} fires per stage");
        if (SqueezeRatio is double ratio) parts.Add(string.Create(CultureInfo.InvariantCulture, $"squeeze ratio {ratio}"));
        return string.Join(", ", parts);
    }
}
