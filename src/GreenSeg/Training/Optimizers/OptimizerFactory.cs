using System.Runtime.Serialization;
using GreenSeg.Common;
using TorchSharp;
using TorchSharp.Modules;

namespace GreenSeg.Training.Optimizers;

/// <summary>
/// Optimizer hyperparameters. Each optimizer reads the ones it has; null betas mean that optimizer's own
/// defaults (Adam/AdamW 0.9/0.999, Novograd 0.9/0.98 as MONAI, Lion 0.9/0.99 as the paper).
/// Weight decay is L2 added to the gradient for SGD and Adam, decoupled for AdamW and Lion, and added to
/// the normalised gradient for Novograd (as MONAI).
/// </summary>
public sealed record OptimizerSettings
{
    public double LearningRate { get; init; } = 1e-3;
    public double WeightDecay { get; init; }
    /// <summary>SGD momentum (0 = plain SGD).</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>SGD Nesterov momentum; needs Momentum &gt; 0.</summary>
    public bool Nesterov { get; init; }
    public double? Beta1 { get; init; }
    public double? Beta2 { get; init; }
    public double Eps { get; init; } = 1e-8;
    /// <summary>AMSGrad variant (adam, adamw, novograd).</summary>
    public bool AmsGrad { get; init; }
    /// <summary>Novograd gradient averaging: scale the normalised gradient by (1 - beta1).</summary>
    public bool GradAveraging { get; init; }
}

/// <summary>Which optimizer trains the network (the config's <c>optimisation: optimizer:</c>).</summary>
public enum OptimizerKind
{
    [EnumMember(Value = "sgd")] Sgd,
    [EnumMember(Value = "adam")] Adam,
    [EnumMember(Value = "adamw")] AdamW,
    /// <summary>Novograd as MONAI.</summary>
    [EnumMember(Value = "novograd")] Novograd,
    [EnumMember(Value = "lion")] Lion,
}

/// <summary>Creates an optimizer: sgd, adam, adamw, novograd, lion.</summary>
public static class OptimizerFactory
{
    public static OptimizerHelper Create(OptimizerKind kind, IEnumerable<Parameter> parameters, OptimizerSettings settings)
    {
        Validate(kind, settings);
        double lr = settings.LearningRate, wd = settings.WeightDecay;
        return kind switch
        {
            OptimizerKind.Sgd => torch.optim.SGD(parameters, lr, settings.Momentum, dampening: 0, weight_decay: wd, nesterov: settings.Nesterov),
            OptimizerKind.Adam => torch.optim.Adam(parameters, lr, settings.Beta1 ?? 0.9, settings.Beta2 ?? 0.999, settings.Eps, wd, settings.AmsGrad),
            OptimizerKind.AdamW => torch.optim.AdamW(parameters, lr, settings.Beta1 ?? 0.9, settings.Beta2 ?? 0.999, settings.Eps, wd, settings.AmsGrad),
            OptimizerKind.Novograd => new Novograd(parameters, lr, settings.Beta1 ?? 0.9, settings.Beta2 ?? 0.98, settings.Eps, wd, settings.GradAveraging, settings.AmsGrad),
            OptimizerKind.Lion => new Lion(parameters, lr, settings.Beta1 ?? 0.9, settings.Beta2 ?? 0.99, wd),
            _ => throw new GreenSegException($"optimizer '{kind}': unknown; {ChoiceNames.Expected(typeof(OptimizerKind))}"),
        };
    }

    private static void Validate(OptimizerKind kind, OptimizerSettings settings)
    {
        string name = ChoiceNames.Name(kind);
        if (!(settings.LearningRate > 0)) throw new GreenSegException($"optimizer {name}: learning rate must be > 0, got {settings.LearningRate}");
        if (!(settings.WeightDecay >= 0)) throw new GreenSegException($"optimizer {name}: weight decay must be >= 0, got {settings.WeightDecay}");
        if (settings.Beta1 is { } b1 && !(b1 >= 0 && b1 < 1)) throw new GreenSegException($"optimizer {name}: beta1 must lie in [0, 1), got {b1}");
        if (settings.Beta2 is { } b2 && !(b2 >= 0 && b2 < 1)) throw new GreenSegException($"optimizer {name}: beta2 must lie in [0, 1), got {b2}");
        if (kind == OptimizerKind.Sgd && !(settings.Momentum >= 0)) throw new GreenSegException($"optimizer sgd: momentum must be >= 0, got {settings.Momentum}");
        if (kind == OptimizerKind.Sgd && settings.Nesterov && settings.Momentum == 0) throw new GreenSegException("optimizer sgd: Nesterov needs momentum > 0");
    }
}
