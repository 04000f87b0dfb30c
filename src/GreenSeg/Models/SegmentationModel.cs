using GreenSeg.Common;
using GreenSeg.Models.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models;

/// <summary>
/// A model of the zoo: N x InChannels x H x W images in, N x OutChannels x H x W logits out.
/// H and W must be divisible by <see cref="TotalStride"/>; anything else is refused with a clear message.
/// </summary>
public abstract class SegmentationModel : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>The registry name (e.g. "unet").</summary>
    public string ModelName { get; }
    public int InChannels { get; }
    public int OutChannels { get; }
    public int BaseFeatures { get; }

    /// <summary>
    /// The options it was built with, its width resolved and no seed: what rebuilds the same network (pruning narrows a copy of
    /// it, keeping a fire-net shape or a narrow first stage).
    /// </summary>
    public ModelOptions BuildOptions { get; }

    /// <summary>The full-resolution stage's width as built with (<see cref="ModelOptions.FirstStageWidth"/>); null: <see cref="BaseFeatures"/>.</summary>
    public int? FirstStageWidth => BuildOptions.FirstStageWidth;

    /// <summary>The internal widths it was built with (<see cref="ModelOptions.InternalWidths"/>); null: the architecture's own.</summary>
    public IReadOnlyList<int>? InternalWidths => BuildOptions.InternalWidths;

    /// <summary>Downsampling factor of the deepest feature map: input sides must be multiples of it.</summary>
    public int TotalStride { get; }

    protected SegmentationModel(string modelName, ModelOptions options, int defaultBaseFeatures, int totalStride)
        : base(modelName)
    {
        ModelName = modelName;
        BaseFeatures = options.ResolveBaseFeatures(modelName, defaultBaseFeatures);
        InChannels = options.InChannels;
        OutChannels = options.OutChannels;
        BuildOptions = options with { BaseFeatures = BaseFeatures, Seed = null };
        TotalStride = totalStride;
    }

    public sealed override Tensor forward(Tensor input)
    {
        CheckInputShape(input.shape);
        return Segment(input);
    }

    /// <summary>The network itself; the input shape has been checked.</summary>
    protected abstract Tensor Segment(Tensor input);

    /// <summary>
    /// The network in eval mode as ONNX nodes (<see cref="OnnxExport"/>): the same steps as <see cref="Segment(Tensor)"/>,
    /// written beside it, each module emitting its own nodes.
    /// </summary>
    protected abstract OnnxValue Segment(OnnxGraph graph, OnnxValue input);

    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) => Segment(graph, input);

    /// <summary>Throws a <see cref="GreenSegException"/> naming the problem when the shape cannot be segmented.</summary>
    public void CheckInputShape(long[] shape)
    {
        if (shape.Length != 4)
            throw new GreenSegException($"model '{ModelName}' expects a batch N x {InChannels} x H x W, got shape [{string.Join(", ", shape)}]");
        if (shape[1] != InChannels)
            throw new GreenSegException($"model '{ModelName}' expects {InChannels} input channel(s), got {shape[1]}");
        long height = shape[2], width = shape[3];
        if (height % TotalStride != 0 || width % TotalStride != 0 || height == 0 || width == 0)
            throw new GreenSegException(
                $"model '{ModelName}' needs input height and width divisible by {TotalStride}, got {height}x{width} " +
                $"(nearest valid: {NearestValid(height)}x{NearestValid(width)}; pad or crop the slices)");
    }

    private long NearestValid(long side) => Math.Max(TotalStride, (side + TotalStride / 2) / TotalStride * TotalStride);

    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>The prunable blocks in construction order (the order of <see cref="ModelOptions.InternalWidths"/>).</summary>
    public IReadOnlyList<Blocks.IPrunableBlock> PrunableBlocks() =>
        [.. modules().OfType<Blocks.IPrunableBlock>().Where(b => b.InternalIndex >= 0).OrderBy(b => b.InternalIndex)];
}
