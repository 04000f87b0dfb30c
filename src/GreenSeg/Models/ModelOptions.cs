using GreenSeg.Common;

namespace GreenSeg.Models;

/// <summary>What every model in the zoo accepts. Width is per model: null means the model's default.</summary>
public sealed record ModelOptions
{
    /// <summary>Input channels (1 for a single MRI contrast).</summary>
    public int InChannels { get; init; } = 1;

    /// <summary>Output logits per pixel (1 for a binary brain mask).</summary>
    public int OutChannels { get; init; } = 1;

    /// <summary>
    /// Width of the first stage (e.g. 64 for unet); every other stage scales with it.
    /// Null: the model's default (<see cref="ModelInfo.DefaultBaseFeatures"/>).
    /// </summary>
    public int? BaseFeatures { get; init; }

    /// <summary>
    /// Width of a U-Net's full-resolution stage (its first encoder and last decoder level), which does a fifth of the
    /// convolutions and most of the normalisation and activation work of a step; null: <see cref="BaseFeatures"/>, as
    /// published. Only the networks whose <see cref="ModelInfo.TakesFirstStageWidth"/> is set take it.
    /// </summary>
    public int? FirstStageWidth { get; init; }

    /// <summary>
    /// Seed of a private generator for the initial weights (reproducible, untouched by other threads);
    /// null draws from torch's global generator (torch.manual_seed).
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The internal widths of the prunable blocks (<see cref="Blocks.IPrunableBlock"/>), one per block in construction
    /// order, as structured pruning left them; null: every block at its default width.
    /// </summary>
    public IReadOnlyList<int>? InternalWidths { get; init; }
    /// The shape of a fire-module network (micronet, squeeze-unet, att-squeeze-unet); null or default: the network's own.
    /// A network without fire modules refuses a shape that changes anything (<see cref="ModelRegistry.Create"/>).
    /// </summary>
    public FireNetShape? FireNet { get; init; }

    /// <summary>The shape to build with: <see cref="FireNet"/>, or the default one.</summary>
    internal FireNetShape Shape => FireNet ?? DefaultShape;

    private static readonly FireNetShape DefaultShape = new();

    public static ModelOptions Default { get; } = new();

    internal int ResolveBaseFeatures(string model, int defaultWidth)
    {
        if (InChannels <= 0) throw new GreenSegException($"model '{model}': InChannels must be positive, got {InChannels}");
        if (OutChannels <= 0) throw new GreenSegException($"model '{model}': OutChannels must be positive, got {OutChannels}");
        int width = BaseFeatures ?? defaultWidth;
        if (width < 4) throw new GreenSegException($"model '{model}': BaseFeatures must be at least 4, got {width}");
        if (FirstStageWidth is < 1 or > ModelLimits.MaxModelWidth)
            throw new GreenSegException($"model '{model}': FirstStageWidth must lie in 1..{ModelLimits.MaxModelWidth}, got {FirstStageWidth}");
        return width;
    }
}
