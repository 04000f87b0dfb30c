using GreenSeg.Common;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// The channels a block produces with one convolution and consumes only inside itself (a U-Net stage's middle channels,
/// a fire module's squeeze, an inverted residual's expansion, a LinkNet basic block's middle): what structured pruning
/// removes. The producer's output channels, the layers that act on each channel alone (a depthwise convolution, an SE
/// gate), and the consumers' input slices all carry the same channels.
/// </summary>
/// <param name="Producer">The convolution (with its BatchNorm) whose output channels these are.</param>
/// <param name="PerChannel">Layers with one output channel per internal channel (depthwise convolution, SE expand).</param>
/// <param name="Consumers">Convolutions whose input channels these are.</param>
public sealed record InternalChannelSet(ConvNormAct Producer, IReadOnlyList<ConvNormAct> PerChannel, IReadOnlyList<ComputeConvolution> Consumers);

/// <summary>A block with internal channels that structured pruning can narrow (<see cref="InternalWidthPlan"/>).</summary>
public interface IPrunableBlock
{
    /// <summary>The block's place among the model's prunable blocks, in construction order (its entry in <see cref="ModelOptions.InternalWidths"/>).</summary>
    int InternalIndex { get; }
    /// <summary>The block's kind, for messages and pruning.json (e.g. "DoubleConv").</summary>
    string BlockKind { get; }
    InternalChannelSet InternalChannels { get; }
}

/// <summary>
/// Hands the prunable blocks of a model under construction their internal widths (<see cref="ModelOptions.InternalWidths"/>),
/// in construction order, while <see cref="ModelRegistry.Create"/> builds it; outside that, or without widths, the
/// blocks keep their default widths.
/// </summary>
internal static class InternalWidthPlan
{
    [ThreadStatic] private static Scope? current;

    /// <summary>The next prunable block's index and width: the given width when none is set.</summary>
    public static (int Index, long Width) Take(long defaultWidth)
    {
        if (current is not { } scope) return (-1, defaultWidth);
        int index = scope.Taken++;
        if (scope.Widths is not { } widths) return (index, defaultWidth);
        if (index >= widths.Count) return (index, defaultWidth); // reported by Complete
        int width = widths[index];
        if (width < 1 || width > defaultWidth)
            throw new GreenSegException($"internal width {width} of prunable block {index} must lie in 1..{defaultWidth}");
        return (index, width);
    }

    public static Scope Use(IReadOnlyList<int>? widths) => new(widths);

    public sealed class Scope : IDisposable
    {
        private readonly Scope? previous = current;

        public IReadOnlyList<int>? Widths { get; }
        public int Taken { get; set; }

        public Scope(IReadOnlyList<int>? widths)
        {
            Widths = widths;
            current = this;
        }

        /// <summary>Throws when the widths given do not match the model's prunable blocks one for one.</summary>
        public void Complete(string model)
        {
            if (Widths is { } widths && widths.Count != Taken)
                throw new GreenSegException($"model '{model}' has {Taken} prunable blocks, but {widths.Count} internal widths were given");
        }

        public void Dispose() => current = previous;
    }
}
