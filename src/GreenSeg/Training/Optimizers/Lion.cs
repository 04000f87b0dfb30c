using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training.Optimizers;

/// <summary>
/// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): only the sign of an
/// interpolated momentum is used, so every coordinate moves by exactly lr (plus decoupled weight decay).
/// <code>
/// u = sign(β1·m + (1-β1)·g);   p = p - lr·(u + weight_decay·p);   m = β2·m + (1-β2)·g
/// </code>
/// One state tensor per parameter (half of Adam's). Its lr is typically 3-10x smaller than Adam's and its
/// weight decay 3-10x larger.
/// </summary>
public sealed class Lion : BetasOptimizer<Lion.Options, Lion.ParamGroup, MomentumState>
{
    public Lion(IEnumerable<Parameter> parameters, double lr = 1e-4, double beta1 = 0.9, double beta2 = 0.99, double weightDecay = 0)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, weightDecay)
    {
    }

    public Lion(IEnumerable<ParamGroup> groups, double lr = 1e-4, double beta1 = 0.9, double beta2 = 0.99, double weightDecay = 0)
        : base(groups, new Options { LearningRate = lr, Beta1 = beta1, Beta2 = beta2, WeightDecay = weightDecay })
    {
    }

    public override Tensor step(Func<Tensor>? closure = null)
    {
        using var scalars = Common.ScalarLifetimeGuard.Enter();
        return StepEach((options, parameter, grad, state) =>
        {
            double lr = options.LearningRate!.Value, beta1 = options.Beta1!.Value, beta2 = options.Beta2!.Value;
            var update = (state.ExpAvg * beta1 + grad * (1 - beta1)).sign_();
            // Decay uses p before this step's update: p·(1 - lr·wd) - lr·u == p - lr·(u + wd·p).
            if (options.WeightDecay!.Value != 0) parameter.mul_(1 - lr * options.WeightDecay.Value);
            parameter.add_(update, alpha: -lr);
            state.ExpAvg.mul_(beta2).add_(grad, alpha: 1 - beta2);
        }, closure);
    }

    protected override MomentumState CreateState(Parameter parameter) => new(parameter);

    public sealed class Options : BetasOptions;

    public sealed class ParamGroup : BetasParamGroup<Options>
    {
        public ParamGroup() { }

        public ParamGroup(IEnumerable<Parameter> parameters, Options? options = null) : base(parameters, options) { }
    }
}
