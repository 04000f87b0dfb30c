using GreenSeg.Models.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Models.Blocks;

/// <summary>
/// The one convolution every model uses, so the training engine can switch the compute precision
/// (<see cref="ComputeMode"/>) of a built model without rebuilding it. Parameters stay float32.
/// </summary>
public abstract class ComputeConvolution : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    // Field names are the state-dict keys ("weight", "bias"), as in torch.nn.Conv2d.
    protected readonly Parameter weight;
    protected Parameter? bias;

    public long InChannels { get; }
    public long OutChannels { get; }
    public long Groups { get; }
    public long[] KernelSize { get; }

    /// <summary>Set by <see cref="ComputeMode.Apply"/>; not saved with the weights.</summary>
    public Precision Precision { get; set; } = Precision.Fp32;

    /// <summary>
    /// Hand libtorch a channels-last view of the weight (set by <see cref="ComputeMode.Apply"/>). The
    /// parameter itself stays NCHW, so optimizer state and checkpoints are plain contiguous tensors.
    /// </summary>
    public bool ChannelsLast { get; set; }

    public Parameter Weight => weight;
    public Parameter? Bias => bias;

    /// <summary>
    /// Folds a per-output-channel affine map that follows the convolution into it: weight·scale, bias·scale + shift
    /// (a missing bias counts as zero and is created). Float32 parameters only; for inference.
    /// </summary>
    internal void FoldAffine(Tensor scale, Tensor shift)
    {
        using var noGrad = no_grad();
        var (folded, foldedBias) = Folded(scale, shift);
        weight.copy_(folded);
        if (bias is null)
        {
            bias = new Parameter(foldedBias.to(weight.device));
            // The caller may fold inside a dispose scope: the new parameter belongs to the module, not to that scope.
            bias.DetachFromDisposeScope();
            register_parameter("bias", bias);
        }
        else bias.copy_(foldedBias);
    }

    /// <summary>
    /// The weight and bias with a per-output-channel affine map that follows the convolution folded in (new tensors:
    /// weight·scale, bias·scale + shift, a missing bias counting as zero); <see cref="FoldAffine"/> and the ONNX export share it.
    /// </summary>
    internal (Tensor Weight, Tensor Bias) Folded(Tensor scale, Tensor shift)
    {
        using var noGrad = no_grad();
        int outputAxis = OutputChannelAxis;
        long[] shape = Enumerable.Repeat(1L, (int)weight.dim()).ToArray();
        shape[outputAxis] = OutChannels;
        if (outputAxis != 0 && Groups != 1) throw new NotSupportedException("folding into a grouped transposed convolution");
        var folded = weight * scale.reshape(shape);
        var foldedBias = bias is null ? shift.clone() : bias * scale + shift;
        return (folded, foldedBias);
    }

    /// <summary>The convolution as one ONNX node (float32 weights, whatever <see cref="Precision"/> the module computes in).</summary>
    public OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input) => Emit(graph, input, weight, bias);

    /// <summary>The convolution with a per-output-channel affine map folded in (a BatchNorm: see <see cref="Folded"/>).</summary>
    internal OnnxValue ToOnnx(OnnxGraph graph, OnnxValue input, Tensor scale, Tensor shift)
    {
        using var scope = graph.Scope(this);
        var (folded, foldedBias) = Folded(scale, shift);
        return Emit(graph, input, folded, foldedBias);
    }

    protected abstract OnnxValue Emit(OnnxGraph graph, OnnxValue input, Tensor weight, Tensor? bias);

    /// <summary>The weight's axis that runs over output channels (0 for a convolution, 1 for a transposed one).</summary>
    protected virtual int OutputChannelAxis => 0;

    protected ComputeConvolution(string name, long inChannels, long outChannels, long[] kernelSize, long groups,
        bool hasBias, long[] weightShape) : base(name)
    {
        if (inChannels <= 0 || outChannels <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: channels {inChannels}->{outChannels} must be positive and divisible by groups {groups}");
        InChannels = inChannels;
        OutChannels = outChannels;
        Groups = groups;
        KernelSize = kernelSize;
        weight = new Parameter(empty(weightShape));
        bias = hasBias ? new Parameter(empty(outChannels)) : null;
        ResetParameters();
        RegisterComponents();
    }

    /// <summary>
    /// PyTorch's default convolution initialisation: Kaiming uniform with a = sqrt 5 for the weight,
    /// which is U(+-1/sqrt(fan_in)), and the same bound for the bias.
    /// </summary>
    private void ResetParameters()
    {
        using var noGrad = no_grad();
        var (fanIn, _) = nn.init.CalculateFanInAndFanOut(weight);
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        InitialWeights.Uniform(weight, bound);
        if (bias is not null) InitialWeights.Uniform(bias, bound);
    }

    public sealed override Tensor forward(Tensor input)
    {
        if (Precision == Precision.Fp32) return Convolve(input, Layout(weight), bias);
        var half = Precision == Precision.Fp16Mixed ? ScalarType.Float16 : ScalarType.BFloat16;
        // Casts and the layout view are differentiable: gradients arrive at the NCHW float32 parameters.
        var output = Convolve(input.to(half), Layout(weight.to(half)), bias?.to(half));
        return output.to(ScalarType.Float32);
    }

    private Tensor Layout(Tensor kernel) => ChannelsLast ? ComputeMode.ToChannelsLast(kernel) : kernel;

    protected abstract Tensor Convolve(Tensor input, Tensor weight, Tensor? bias);

    /// <summary>Multiply-accumulates of one forward call, per batch element.</summary>
    public abstract long MultiplyAccumulates(long[] inputShape, long[] outputShape);

    protected static long Product(long[] shape, int from) =>
        shape.Skip(from).Aggregate(1L, (a, b) => a * b);
}
