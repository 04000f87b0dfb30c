using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Compression;

/// <summary>
/// Unstructured global magnitude pruning: the convolution weights with the smallest absolute values across the whole
/// network are set to zero, a mask per convolution remembers which. Biases and BatchNorm stay dense (they are few).
/// </summary>
public sealed class PruningMasks : IDisposable
{
    private readonly List<(ComputeConvolution Convolution, Tensor Mask)> _masks;

    private PruningMasks(List<(ComputeConvolution, Tensor)> masks) => _masks = masks;

    /// <summary>Weights zeroed by the masks, over all convolution weights.</summary>
    public double Sparsity
    {
        get
        {
            long total = _masks.Sum(m => m.Mask.numel());
            long kept = _masks.Sum(m => m.Mask.count_nonzero().item<long>());
            return total == 0 ? 0 : 1 - (double)kept / total;
        }
    }

    /// <summary>
    /// Masks that zero the given share of all convolution weights, smallest magnitudes first (ties broken by position,
    /// so exactly that share goes), together with the weights already zero.
    /// </summary>
    public static PruningMasks Global(SegmentationModel model, double sparsity)
    {
        if (!(sparsity is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, "sparsity must lie in [0, 1)");
        var convolutions = model.modules().OfType<ComputeConvolution>().ToList();
        using var noGrad = no_grad();
        using (var scope = NewDisposeScope())
        {
            var magnitudes = cat(convolutions.Select(c => c.Weight.detach().abs().flatten()).ToList());
            long prune = (long)Math.Floor(sparsity * magnitudes.numel());
            var keep = ones_like(magnitudes, ScalarType.Bool);
            if (prune > 0)
            {
                var (_, order) = magnitudes.sort(dim: 0, descending: false, stable: true);
                keep.index_fill_(0, order.narrow(0, 0, prune), false);
            }
            var masks = new List<(ComputeConvolution, Tensor)>();
            long offset = 0;
            foreach (var convolution in convolutions)
            {
                long count = convolution.Weight.numel();
                masks.Add((convolution, keep.narrow(0, offset, count).reshape(convolution.Weight.shape).to_type(ScalarType.Float32).MoveToOuterDisposeScope()));
                offset += count;
            }
            var result = new PruningMasks(masks);
            result.Apply();
            return result;
        }
    }

    /// <summary>The share of all convolution weights that are exactly zero: what magnitude pruning left (0 for a dense model).</summary>
    public static double ZeroShare(SegmentationModel model)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long total = 0, zeros = 0;
        foreach (var convolution in model.modules().OfType<ComputeConvolution>())
        {
            total += convolution.Weight.numel();
            zeros += convolution.Weight.eq(0).count_nonzero().item<long>();
        }
        return total == 0 ? 0 : (double)zeros / total;
    }

    /// <summary>Zeroes the pruned weights (after an optimizer step they may have moved).</summary>
    public void Apply()
    {
        using var noGrad = no_grad();
        foreach (var (convolution, mask) in _masks) convolution.Weight.mul_(mask);
    }

    public void Dispose()
    {
        foreach (var (_, mask) in _masks) mask.Dispose();
    }

}
