using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training.Optimizers;

/// <summary>
/// Novograd (Ginsburg et al. 2019) exactly as MONAI's monai.optimizers.Novograd: the second moment is one
/// scalar per parameter tensor (layer-wise), the running average of the squared gradient norm ‖g‖², and it
/// starts from the first step's ‖g‖² rather than from 0 (no bias correction). Per step, per tensor:
/// <code>
/// v = ‖g‖² if v == 0 else β2·v + (1-β2)·‖g‖²      (AMSGrad: v̂ = max(v̂, v), used below instead of v)
/// d = g / (√v + ε) + weight_decay·p               (L2 on the normalised gradient, MONAI's choice)
/// d = (1-β1)·d                                    (only with grad_averaging)
/// m = β1·m + d;   p = p - lr·m
/// </code>
/// Unlike MONAI it leaves p.grad untouched (MONAI divides the gradient in place); the update is the same.
/// </summary>
public sealed class Novograd : BetasOptimizer<Novograd.Options, Novograd.ParamGroup, Novograd.State>
{
    public Novograd(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.98,
        double eps = 1e-8, double weightDecay = 0, bool gradAveraging = false, bool amsgrad = false)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, gradAveraging, amsgrad)
    {
    }

    public Novograd(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.98,
        double eps = 1e-8, double weightDecay = 0, bool gradAveraging = false, bool amsgrad = false)
        : base(groups, new Options
        {
            LearningRate = lr, Beta1 = beta1, Beta2 = beta2,
            Eps = eps >= 0 ? eps : throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be >= 0"),
            WeightDecay = weightDecay, GradAveraging = gradAveraging, AmsGrad = amsgrad,
        })
    {
    }

    public override Tensor step(Func<Tensor>? closure = null)
    {
        using var scalars = Common.ScalarLifetimeGuard.Enter();
        return StepEach((options, parameter, grad, state) =>
        {
            double beta1 = options.Beta1!.Value, beta2 = options.Beta2!.Value, weightDecay = options.WeightDecay!.Value;
            var squaredNorm = grad.square().sum();
            // On device, no host sync: a zero running average (the first step) takes the norm as it is.
            state.ExpAvgSq.copy_(torch.where(state.ExpAvgSq.eq(0), squaredNorm, state.ExpAvgSq * beta2 + squaredNorm * (1 - beta2)));
            var secondMoment = state.ExpAvgSq;
            if (options.AmsGrad!.Value)
            {
                state.EnsureMaxExpAvgSq();
                state.MaxExpAvgSq!.copy_(torch.maximum(state.MaxExpAvgSq, state.ExpAvgSq));
                secondMoment = state.MaxExpAvgSq;
            }
            var direction = grad / (secondMoment.sqrt() + options.Eps!.Value);
            if (weightDecay != 0) direction = direction.add(parameter, alpha: weightDecay);
            if (options.GradAveraging!.Value) direction = direction.mul(1 - beta1);
            state.ExpAvg.mul_(beta1).add_(direction);
            parameter.add_(state.ExpAvg, alpha: -options.LearningRate!.Value);
        }, closure);
    }

    protected override State CreateState(Parameter parameter) => new(parameter);

    public sealed class Options : BetasOptions
    {
        public double? Eps { get; set; }
        public bool? GradAveraging { get; set; }
        public bool? AmsGrad { get; set; }

        public override void FillFrom(BetasOptions defaults)
        {
            base.FillFrom(defaults);
            var other = (Options)defaults;
            Eps ??= other.Eps;
            GradAveraging ??= other.GradAveraging;
            AmsGrad ??= other.AmsGrad;
        }

        public override void SaveStateDict(BinaryWriter writer)
        {
            base.SaveStateDict(writer);
            writer.Write(Eps!.Value);
            writer.Write(GradAveraging!.Value);
            writer.Write(AmsGrad!.Value);
        }

        public override void LoadStateDict(BinaryReader reader)
        {
            base.LoadStateDict(reader);
            Eps = reader.ReadDouble();
            GradAveraging = reader.ReadBoolean();
            AmsGrad = reader.ReadBoolean();
        }

        public override void LoadStateDict(OptimizerOptions source)
        {
            base.LoadStateDict(source);
            var other = (Options)source;
            Eps = other.Eps;
            GradAveraging = other.GradAveraging;
            AmsGrad = other.AmsGrad;
        }
    }

    public sealed class ParamGroup : BetasParamGroup<Options>
    {
        public ParamGroup() { }

        public ParamGroup(IEnumerable<Parameter> parameters, Options? options = null) : base(parameters, options) { }
    }

    /// <summary>First moment shaped like the parameter; second moment (and its AMSGrad maximum) one scalar.</summary>
    public sealed class State : MomentumState
    {
        public Tensor ExpAvgSq { get; private set; }
        public Tensor? MaxExpAvgSq { get; private set; }

        public State(Parameter parameter) : base(parameter)
        {
            ExpAvgSq = NewScalar();
        }

        /// <summary>Zero moments (the first step then takes ‖g‖² as is); the AMSGrad maximum only when asked for.</summary>
        public override void Initialize(OptimizerOptions options)
        {
            base.Initialize(options);
            using var _ = torch.no_grad();
            ExpAvgSq.zero_();
            MaxExpAvgSq?.Dispose();
            MaxExpAvgSq = ((Options)options).AmsGrad == true ? NewScalar() : null;
        }

        private Tensor NewScalar() => torch.zeros(Array.Empty<long>(), ExpAvg.dtype, ExpAvg.device).DetachFromDisposeScope();

        internal void EnsureMaxExpAvgSq() => MaxExpAvgSq ??= NewScalar();

        public override void SaveStateDict(BinaryWriter writer)
        {
            base.SaveStateDict(writer);
            ExpAvgSq.Save(writer);
            writer.Write(MaxExpAvgSq is not null);
            MaxExpAvgSq?.Save(writer);
        }

        public override void LoadStateDict(BinaryReader reader)
        {
            base.LoadStateDict(reader);
            ExpAvgSq.Load(reader);
            if (reader.ReadBoolean())
            {
                EnsureMaxExpAvgSq();
                MaxExpAvgSq!.Load(reader);
            }
            else
            {
                MaxExpAvgSq?.Dispose();
                MaxExpAvgSq = null;
            }
        }

        public override void LoadStateDict(OptimizerState source)
        {
            base.LoadStateDict(source);
            var other = (State)source;
            using var _ = torch.no_grad();
            ExpAvgSq.copy_(other.ExpAvgSq);
            if (other.MaxExpAvgSq is null)
            {
                MaxExpAvgSq?.Dispose();
                MaxExpAvgSq = null;
            }
            else
            {
                EnsureMaxExpAvgSq();
                MaxExpAvgSq!.copy_(other.MaxExpAvgSq);
            }
        }

        public override bool ApproximatelyEquals(OptimizerState other) =>
            base.ApproximatelyEquals(other) && other is State rhs && rhs.ExpAvgSq.allclose(ExpAvgSq) &&
            (MaxExpAvgSq is null ? rhs.MaxExpAvgSq is null : rhs.MaxExpAvgSq is not null && rhs.MaxExpAvgSq.allclose(MaxExpAvgSq));

        public override void to(Device device)
        {
            base.to(device);
            ExpAvgSq = MoveTo(ExpAvgSq, device);
            if (MaxExpAvgSq is not null) MaxExpAvgSq = MoveTo(MaxExpAvgSq, device);
        }

        public override void Dispose()
        {
            ExpAvgSq.Dispose();
            MaxExpAvgSq?.Dispose();
            base.Dispose();
        }
    }
}
