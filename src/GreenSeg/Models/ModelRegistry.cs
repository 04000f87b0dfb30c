using GreenSeg.Common;
using GreenSeg.Models.Architectures;
using GreenSeg.Models.Blocks;

namespace GreenSeg.Models;

/// <summary>
/// One architecture of the zoo: its name, what it is, where it comes from, how to build it, and which parts of a
/// <see cref="FireNetShape"/> it lets change (none for a network without fire modules), and whether its full-resolution
/// stage may be narrower than the rest (<see cref="ModelOptions.FirstStageWidth"/>).
/// </summary>
public sealed record ModelInfo(string Name, string Description, string Reference, int DefaultBaseFeatures,
    Func<ModelOptions, SegmentationModel> Factory, FireNetParts FireNet = FireNetParts.None, bool TakesFirstStageWidth = false);

/// <summary>The architectures users can train and compare by name.</summary>
public static class ModelRegistry
{
    private static readonly ModelInfo[] All =
    [
        new("unet", "Classic U-Net, 4 down / 4 up, 2x(3x3 conv+BN+ReLU), transposed-conv up (the study's baseline)",
            "Ronneberger et al., MICCAI 2015", 64, o => new UNet(o), TakesFirstStageWidth: true),
        new("attention-unet", "U-Net with additive attention gates on the skips",
            "Oktay et al., MIDL 2018", 64, o => new AttentionUNet(o), TakesFirstStageWidth: true),
        new("squeeze-unet", "U-Net of SqueezeNet fire modules, stride-2 fire down, transposed fire up",
            "Beheshti & Johnsson, CVPRW 2020", 64, o => new SqueezeUNet(o), FireNetParts.All),
        new("att-squeeze-unet", "Fire-module encoder, attention-gated decoder, as used in the study",
            "Pennisi et al., J. Digit. Imaging 2022", 64, o => new AttSqueezeUNet(o), FireNetParts.FiresPerStage | FireNetParts.SqueezeRatio),
        new("mobilenetv3-lraspp", "MobileNetV3-Small backbone (dilated tail) with the Lite R-ASPP head",
            "Howard et al., ICCV 2019", 16, o => new MobileNetV3Lraspp(o)),
        new("micronet", "Tiny fire-module encoder-decoder with additive skips",
            "GreenSeg (after Iandola et al., SqueezeNet 2016)", 16, o => new MicroNet(o), FireNetParts.All),
        new("efficientnet-b0-unet", "EfficientNet-B0 encoder (MBConv, SE, SiLU) with a U-Net decoder",
            "Tan & Le, ICML 2019", 32, o => new EfficientNetB0UNet(o)),
        new("enet", "ENet: early downsampling, dilated/asymmetric bottlenecks, max-unpooling decoder",
            "Paszke et al., arXiv:1606.02147 2016", 16, o => new ENet(o)),
        new("linknet", "LinkNet: ResNet-18 encoder added into a light decoder",
            "Chaurasia & Culurciello, VCIP 2017", 64, o => new LinkNet(o)),
    ];

    public static IReadOnlyList<ModelInfo> Models => All;

    public static IReadOnlyList<string> Names { get; } = All.Select(m => m.Name).ToArray();

    /// <summary>The entry for a name (case-insensitive); a <see cref="GreenSegException"/> listing the valid names otherwise.</summary>
    public static ModelInfo Describe(string name) =>
        TryDescribe(name)
        ?? throw new GreenSegException($"unknown model '{name}'; valid models: {string.Join(", ", Names)}");

    /// <summary>The entry for a name, or null when no model has it.</summary>
    public static ModelInfo? TryDescribe(string? name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>Why <paramref name="shape"/> cannot shape the model of this name (by the config's keys); null when it can.</summary>
    public static string? ShapeProblem(string name, FireNetShape? shape)
    {
        if (shape is null || shape.IsDefault()) return null;
        if (shape.Problem() is { } problem) return problem;
        var info = Describe(name);
        var refused = shape.Changed() & ~info.FireNet;
        if (refused == FireNetParts.None) return null;
        var shapeable = All.Where(m => m.FireNet != FireNetParts.None).Select(m => m.Name);
        return info.FireNet == FireNetParts.None
            ? $"model '{info.Name}' has no fire modules: the fire-net: section shapes {string.Join(", ", shapeable)} only"
            : $"model '{info.Name}' keeps its published {PartNames(refused)}: of the fire-net: section it takes {PartNames(info.FireNet)} only";
    }

    /// <summary>Why the model of this name cannot take a first-stage width; null when it can, or when none is asked for.</summary>
    public static string? FirstStageWidthProblem(string name, int? firstStageWidth)
    {
        if (firstStageWidth is null) return null;
        var info = Describe(name);
        if (info.TakesFirstStageWidth) return null;
        var takers = All.Where(m => m.TakesFirstStageWidth).Select(m => m.Name);
        return $"model '{info.Name}' has no separate full-resolution stage: first-stage-width shapes {string.Join(", ", takers)} only";
    }

    private static string PartNames(FireNetParts parts) => string.Join(", ", new[]
    {
        parts.HasFlag(FireNetParts.Stages) ? "stages" : null,
        parts.HasFlag(FireNetParts.FiresPerStage) ? "fires-per-stage" : null,
        parts.HasFlag(FireNetParts.SqueezeRatio) ? "squeeze-ratio" : null,
    }.Where(p => p is not null));

    /// <summary>Builds a freshly initialised model (see <see cref="ModelOptions.Seed"/> for where the initial weights come from).</summary>
    public static SegmentationModel Create(string name, ModelOptions? options = null)
    {
        var info = Describe(name);
        options ??= ModelOptions.Default;
        if (ShapeProblem(info.Name, options.FireNet) is { } problem) throw new GreenSegException(problem);
        if (FirstStageWidthProblem(info.Name, options.FirstStageWidth) is { } firstStage) throw new GreenSegException(firstStage);
        using var seeded = options.Seed is { } seed ? InitialWeights.Seeded(seed) : null;
        using var widths = InternalWidthPlan.Use(options.InternalWidths);
        var model = info.Factory(options);
        try
        {
            widths.Complete(info.Name);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }
}
