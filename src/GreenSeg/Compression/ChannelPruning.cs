using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Compression;

/// <summary>One prunable block's internal width before and after structured pruning.</summary>
public sealed record BlockWidths(int Block, string Kind, int Before, int After);

/// <summary>
/// A structurally pruned model: narrower blocks (<see cref="ModelOptions.InternalWidths"/>) carrying the kept channels'
/// weights, and which channels each block kept (ascending indices of the original's internal channels).
/// </summary>
public sealed record ChannelPruningResult(SegmentationModel Model, IReadOnlyList<int> InternalWidths,
    IReadOnlyList<BlockWidths> Blocks, IReadOnlyList<long[]> Kept);

/// <summary>
/// Structured L1-norm channel pruning (Li et al., ICLR 2017, "Pruning filters for efficient ConvNets"), confined to the
/// channels a block produces and consumes itself (<see cref="IPrunableBlock"/>): skip connections, concatenations and
/// residual additions keep their widths. Each internal channel is ranked by the L1 norm of its producing filter (the
/// convolution weights alone; the BatchNorm's gamma is not used), and the lowest share of each block goes (at least one
/// channel stays). The smaller model is rebuilt from the registry with the reduced widths and the kept channels' weights
/// copied: producer filters (and biases), BatchNorm weight, bias and running statistics, the per-channel layers
/// (depthwise filters, SE gates) and the consumers' input slices.
/// </summary>
public static class ChannelPruning
{
    /// <summary>Architectures l1-channels cannot prune, and why.</summary>
    private static readonly Dictionary<string, string> Unsupported = new(StringComparer.OrdinalIgnoreCase)
    {
        ["enet"] = "its bottlenecks end in PReLU activations with learned per-channel slopes and share widths with max-unpooling indices, and are not built with reduced internal widths; not supported by l1-channels",
    };

    /// <summary>Throws a <see cref="GreenSegException"/> naming why when <paramref name="model"/>'s architecture cannot be pruned by channels.</summary>
    public static void RequireSupported(string model)
    {
        if (Unsupported.TryGetValue(model, out string? why)) throw new GreenSegException($"{model}: {why}");
    }

    /// <summary>
    /// Per block, the indices of the internal channels kept at <paramref name="sparsity"/>: the largest L1 norms, ascending by
    /// index. The share is of <paramref name="originalWidths"/> when given (an iteration of a schedule), else of the current widths.
    /// </summary>
    public static IReadOnlyList<long[]> ChannelsToKeep(SegmentationModel model, double sparsity, IReadOnlyList<int>? originalWidths = null)
    {
        if (!(sparsity is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, "sparsity must lie in [0, 1)");
        var kept = new List<long[]>();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var blocks = model.PrunableBlocks();
        if (originalWidths is not null && originalWidths.Count != blocks.Count)
            throw new GreenSegException($"{model.ModelName}: {blocks.Count} prunable blocks, {originalWidths.Count} original widths");
        for (int i = 0; i < blocks.Count; i++)
        {
            var weight = blocks[i].InternalChannels.Producer.Conv.Weight.detach();
            var norms = weight.abs().flatten(1).sum(1);
            long width = norms.shape[0], original = originalWidths?[i] ?? width;
            long keep = Math.Clamp(original - (long)Math.Floor(sparsity * original), 1, width);
            var (_, order) = norms.sort(dim: 0, descending: true, stable: true);
            kept.Add([.. order.narrow(0, 0, keep).sort().Values.data<long>()]);
        }
        return kept;
    }

    /// <summary>A new, narrower model holding <paramref name="model"/>'s kept channels (see the class summary); the original is untouched.</summary>
    public static ChannelPruningResult Prune(SegmentationModel model, double sparsity, IReadOnlyList<int>? originalWidths = null)
    {
        RequireSupported(model.ModelName);
        var blocks = model.PrunableBlocks();
        if (blocks.Count == 0) throw new GreenSegException($"{model.ModelName}: has no blocks with internal channels; not supported by l1-channels");
        var kept = ChannelsToKeep(model, sparsity, originalWidths);
        var widths = kept.Select(k => k.Length).ToList();
        var pruned = ModelRegistry.Create(model.ModelName, model.BuildOptions with { InternalWidths = widths });
        try
        {
            CopyKept(model, pruned, kept);
        }
        catch
        {
            pruned.Dispose();
            throw;
        }
        pruned.train(model.training);
        var report = blocks.Select((b, i) => new BlockWidths(i, b.BlockKind, (int)b.InternalChannels.Producer.Conv.OutChannels, widths[i])).ToList();
        return new ChannelPruningResult(pruned, widths, report, kept);
    }

    private static void CopyKept(SegmentationModel source, SegmentationModel target, IReadOnlyList<long[]> kept)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Everything outside the internal channels has the same shape in both: copy by name.
        var from = source.state_dict();
        foreach (var (name, tensor) in target.state_dict())
            if (from.TryGetValue(name, out var original) && original.shape.SequenceEqual(tensor.shape)) tensor.copy_(original);
        var sourceBlocks = source.PrunableBlocks();
        var targetBlocks = target.PrunableBlocks();
        for (int i = 0; i < sourceBlocks.Count; i++)
        {
            var index = tensor(kept[i]);
            var (a, b) = (sourceBlocks[i].InternalChannels, targetBlocks[i].InternalChannels);
            CopyChannels(a.Producer, b.Producer, index);
            for (int j = 0; j < a.PerChannel.Count; j++) CopyChannels(a.PerChannel[j], b.PerChannel[j], index);
            for (int j = 0; j < a.Consumers.Count; j++)
            {
                int axis = InputAxis(a.Consumers[j]);
                b.Consumers[j].Weight.copy_(a.Consumers[j].Weight.index_select(axis, index));
            }
        }
    }

    /// <summary>Output channels <paramref name="index"/> of a convolution (its weights, bias, BatchNorm) into a narrower one.</summary>
    private static void CopyChannels(ConvNormAct source, ConvNormAct target, Tensor index)
    {
        target.Conv.Weight.copy_(source.Conv.Weight.index_select(0, index));
        if (source.Conv.Bias is { } bias) target.Conv.Bias!.copy_(bias.index_select(0, index));
        if (source.Norm is { } norm)
        {
            var narrow = target.Norm ?? throw new GreenSegException("a folded BatchNorm cannot be pruned; prune the unfolded model");
            narrow.weight!.copy_(norm.weight!.index_select(0, index));
            narrow.bias!.copy_(norm.bias!.index_select(0, index));
            narrow.running_mean!.copy_(norm.running_mean!.index_select(0, index));
            narrow.running_var!.copy_(norm.running_var!.index_select(0, index));
        }
    }

    /// <summary>The weight axis of a convolution's input channels: 1 for a convolution, 0 for a transposed one.</summary>
    private static int InputAxis(ComputeConvolution convolution) => convolution is ComputeConvTranspose2d ? 0 : 1;

    /// <summary>
    /// The original model with the pruned channels' contributions removed (for checking a pruned model): every consumer's
    /// input slice of a channel not in <paramref name="kept"/> set to zero, so those channels affect nothing downstream.
    /// </summary>
    public static void RemovePrunedContributions(SegmentationModel model, IReadOnlyList<long[]> kept)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var blocks = model.PrunableBlocks();
        for (int i = 0; i < blocks.Count; i++)
        {
            foreach (var consumer in blocks[i].InternalChannels.Consumers)
            {
                int axis = InputAxis(consumer);
                var mask = ones(consumer.Weight.shape[axis]);
                mask.index_fill_(0, tensor(kept[i]), 0);
                var pruned = mask.nonzero().flatten();
                if (pruned.numel() > 0) consumer.Weight.index_fill_(axis, pruned, 0);
            }
        }
    }
}
