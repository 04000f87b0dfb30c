using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training.Optimizers;

/// <summary>
/// Hyperparameters shared by the managed optimizers with two betas (Novograd, Lion). Saved in the
/// optimizer state dict, so a resumed run continues with the learning rate and betas a scheduler left.
/// </summary>
public class BetasOptions : OptimizerOptions
{
    public double? Beta1 { get; set; }
    public double? Beta2 { get; set; }
    public double? WeightDecay { get; set; }

    /// <summary>Takes every value this group left unset from the optimizer's defaults.</summary>
    public virtual void FillFrom(BetasOptions defaults)
    {
        LearningRate ??= defaults.LearningRate;
        Beta1 ??= defaults.Beta1;
        Beta2 ??= defaults.Beta2;
        WeightDecay ??= defaults.WeightDecay;
    }

    public override void SaveStateDict(BinaryWriter writer)
    {
        base.SaveStateDict(writer);
        writer.Write(Beta1!.Value);
        writer.Write(Beta2!.Value);
        writer.Write(WeightDecay!.Value);
    }

    public override void LoadStateDict(BinaryReader reader)
    {
        base.LoadStateDict(reader);
        Beta1 = reader.ReadDouble();
        Beta2 = reader.ReadDouble();
        WeightDecay = reader.ReadDouble();
    }

    public override void LoadStateDict(OptimizerOptions source)
    {
        base.LoadStateDict(source);
        var other = (BetasOptions)source;
        Beta1 = other.Beta1;
        Beta2 = other.Beta2;
        WeightDecay = other.WeightDecay;
    }
}

/// <summary>
/// A parameter group whose beta1 a scheduler can cycle (OneCycleLR looks for <see cref="torch.optim.IBetas"/>
/// on each group).
/// </summary>
public class BetasParamGroup<TOptions> : ParamGroup<TOptions>, torch.optim.IBetas where TOptions : BetasOptions, new()
{
    public BetasParamGroup() { }

    /// <summary>Options left null (or unset values in them) take the optimizer's defaults.</summary>
    public BetasParamGroup(IEnumerable<Parameter> parameters, TOptions? options = null) : base(parameters, options ?? new TOptions()) { }

    public (double, double) Betas
    {
        get => (Options.Beta1!.Value, Options.Beta2!.Value);
        set { Options.Beta1 = value.Item1; Options.Beta2 = value.Item2; }
    }
}

/// <summary>
/// Per-parameter state holding a step count and a first moment shaped like the parameter. State tensors are
/// detached from every dispose scope: they live as long as the optimizer, whatever scope built it.
/// </summary>
public class MomentumState : OptimizerState, IDisposable
{
    public long Step { get; set; }
    public Tensor ExpAvg { get; private set; }

    public MomentumState(Parameter parameter) : base(parameter)
    {
        ExpAvg = torch.zeros_like(parameter).DetachFromDisposeScope();
    }

    /// <summary>Resets to the state before the first step.</summary>
    public override void Initialize(OptimizerOptions options)
    {
        Step = 0;
        using (torch.no_grad()) ExpAvg.zero_();
    }

    public override void SaveStateDict(BinaryWriter writer)
    {
        writer.Write(Step);
        ExpAvg.Save(writer);
    }

    public override void LoadStateDict(BinaryReader reader)
    {
        Step = reader.ReadInt64();
        ExpAvg.Load(reader);
    }

    /// <summary>Copies the values (not the tensors), so the two optimizers never share state.</summary>
    public override void LoadStateDict(OptimizerState source)
    {
        var other = (MomentumState)source;
        Step = other.Step;
        using (torch.no_grad()) ExpAvg.copy_(other.ExpAvg);
    }

    public override bool ApproximatelyEquals(OptimizerState other) =>
        other is MomentumState rhs && rhs.Step == Step && rhs.ExpAvg.allclose(ExpAvg);

    public override void to(Device device) => ExpAvg = MoveTo(ExpAvg, device);

    protected static Tensor MoveTo(Tensor tensor, Device device)
    {
        var moved = tensor.to(device).DetachFromDisposeScope();
        tensor.Dispose();
        return moved;
    }

    public virtual void Dispose()
    {
        ExpAvg.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// Common plumbing of Novograd and Lion on TorchSharp's <see cref="OptimizerHelper"/>: parameter groups with
/// defaults, per-parameter state, the no-grad step loop, state disposal and the <see cref="torch.optim.IBetas"/>
/// hook for schedulers. Learning rate and betas are read from the group at every step, so LR schedulers and
/// OneCycleLR's beta cycling take effect immediately.
/// </summary>
public abstract class BetasOptimizer<TOptions, TGroup, TState> : OptimizerHelper, torch.optim.IBetas
    where TOptions : BetasOptions, new()
    where TGroup : BetasParamGroup<TOptions>, new()
    where TState : MomentumState
{
    protected BetasOptimizer(IEnumerable<TGroup> groups, TOptions defaults)
    {
        if (defaults.LearningRate is not >= 0) throw new ArgumentOutOfRangeException(nameof(defaults), defaults.LearningRate, "learning rate must be >= 0");
        if (defaults.Beta1 is not (>= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(defaults), defaults.Beta1, "beta1 must lie in [0, 1)");
        if (defaults.Beta2 is not (>= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(defaults), defaults.Beta2, "beta2 must lie in [0, 1)");
        if (defaults.WeightDecay is not >= 0) throw new ArgumentOutOfRangeException(nameof(defaults), defaults.WeightDecay, "weight decay must be >= 0");
        defaults.InitialLearningRate = defaults.LearningRate.Value;
        _defaults = defaults;
        _parameter_groups = new List<ParamGroup>();
        foreach (var group in groups) add_param_group(group);
    }

    protected TOptions Defaults => (TOptions)_defaults;

    public (double, double) Betas
    {
        get => (Defaults.Beta1!.Value, Defaults.Beta2!.Value);
        set { Defaults.Beta1 = value.Item1; Defaults.Beta2 = value.Item2; }
    }

    public override void add_param_group(ParamGroup param_group)
    {
        // Plain TorchSharp groups are re-wrapped so that every group exposes IBetas to schedulers.
        var group = param_group as TGroup ?? new TGroup { Parameters = param_group.Parameters, Options = param_group.Options as TOptions ?? new TOptions() };
        group.Options ??= new TOptions();
        group.Options.FillFrom(Defaults);
        group.Options.InitialLearningRate = group.Options.LearningRate!.Value;
        // Parameters may be a lazy enumerable (e.g. module.parameters()); iterate it once.
        group.Parameters = group.Parameters.ToList();
        _parameter_groups.Add(group);
        foreach (var parameter in group.Parameters)
        {
            var state = CreateState(parameter);
            state.Initialize(group.Options);
            _state[parameter.Handle] = state;
        }
    }

    protected abstract TState CreateState(Parameter parameter);

    /// <summary>Runs <paramref name="update"/> under no_grad for every parameter that has a gradient.</summary>
    protected Tensor StepEach(Action<TOptions, Parameter, Tensor, TState> update, Func<Tensor>? closure) =>
        _step<ParamGroup>(group =>
        {
            var options = (TOptions)group.Options;
            foreach (var parameter in group.Parameters)
            {
                var grad = parameter.grad;
                if (grad is null) continue;
                var state = (TState)_state[parameter.Handle];
                state.Step += 1;
                update(options, parameter, grad, state);
            }
        }, closure);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        foreach (var entry in _state) ((TState)entry.Item2).Dispose();
    }
}
