using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

/// <summary>
/// Small deterministic problems for optimizer and finder tests. Everything random comes from a local
/// generator, never from the global RNG, so tests running in parallel cannot disturb each other.
/// </summary>
internal static class TrainingProblems
{
    /// <summary>Sets every parameter to seeded N(0, scale²) values.</summary>
    public static void InitDeterministic(nn.Module module, long seed, double scale = 0.1)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        using var _ = torch.no_grad();
        foreach (var parameter in module.parameters())
            parameter.copy_(torch.randn(parameter.shape, parameter.dtype, generator: generator) * scale);
    }

    public static float[] Values(Tensor tensor) => tensor.detach().cpu().to_type(ScalarType.Float32).data<float>().ToArray();

    public static byte[] Bytes(nn.Module module) =>
        module.state_dict().Values.SelectMany(t => t.detach().cpu().bytes.ToArray()).ToArray();
}

/// <summary>
/// Noise-free linear regression y = X·w* + b* with X ~ N(0, 1): a quadratic loss whose curvature is known,
/// so "which learning rates work" can be stated exactly (see <see cref="StableRateLimit"/>).
/// </summary>
internal sealed class LinearRegressionProblem : IDisposable
{
    public int Features { get; }
    public Tensor Inputs { get; }
    public Tensor Targets { get; }

    public LinearRegressionProblem(int samples = 256, int features = 8, long seed = 1234)
    {
        Features = features;
        using var generator = new Generator((ulong)seed);
        using var scope = torch.NewDisposeScope();
        Inputs = torch.randn([samples, features], generator: generator).MoveToOuterDisposeScope();
        var trueWeights = torch.randn([features, 1], generator: generator);
        Targets = (Inputs.matmul(trueWeights) + 0.5).MoveToOuterDisposeScope();
    }

    public Linear CreateModel(long seed = 7)
    {
        var model = nn.Linear(Features, 1);
        TrainingProblems.InitDeterministic(model, seed);
        return model;
    }

    public Tensor Loss(Linear model) => nn.functional.mse_loss(model.call(Inputs), Targets);

    public double LossValue(Linear model)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        return Loss(model).ToDouble();
    }

    /// <summary>
    /// Eigenvalues of the loss Hessian 2/N·[X 1]ᵀ[X 1] (weights and bias): full-batch gradient descent converges
    /// iff lr &lt; 2/λmax and shrinks the slowest error component by (1 - lr·λmin) per step.
    /// </summary>
    public (double Min, double Max) HessianEigenvalues()
    {
        using var scope = torch.NewDisposeScope();
        var design = torch.cat([Inputs, torch.ones(Inputs.shape[0], 1)], 1).to_type(ScalarType.Float64);
        var hessian = design.t().matmul(design) * (2.0 / Inputs.shape[0]);
        var eigenvalues = torch.linalg.eigvalsh(hessian);
        return (eigenvalues.min().ToDouble(), eigenvalues.max().ToDouble());
    }

    public double StableRateLimit => 2 / HessianEigenvalues().Max;

    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
    }
}
