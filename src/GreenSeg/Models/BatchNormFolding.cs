using GreenSeg.Models.Blocks;

namespace GreenSeg.Models;

/// <summary>
/// Inference-time folding of BatchNorm into the convolution before it (in every <see cref="ConvNormAct"/>): the same
/// outputs in eval mode, one elementwise pass per block fewer. BatchNorms that follow something other than a
/// convolution of a ConvNormAct (in ENet and LinkNet's own blocks) stay as they are.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>Folds every foldable BatchNorm of an float32 model in eval mode; returns how many were folded.</summary>
    public static int Fold(SegmentationModel model)
    {
        if (model.training) throw new InvalidOperationException("fold BatchNorm only in eval mode: training would need the batch statistics");
        return model.modules().OfType<ConvNormAct>().Count(block => block.FoldBatchNorm());
    }
}
