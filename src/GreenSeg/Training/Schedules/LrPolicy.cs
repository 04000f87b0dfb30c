using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch.optim;

namespace GreenSeg.Training.Schedules;

/// <summary>How the learning rate changes during a run (the config's <c>schedule: lr-policy:</c>); see <see cref="LrPolicy"/>.</summary>
public enum LrPolicyKind
{
    [EnumMember(Value = "fixed")] Fixed,
    [EnumMember(Value = "plateau")] Plateau,
    [EnumMember(Value = "cosine")] Cosine,
    [EnumMember(Value = "one-cycle")] [AlsoAccepted("onecycle")] OneCycle,
}

/// <summary>Learning-rate policy settings; each policy reads only its own.</summary>
public sealed record LrPolicySettings
{
    /// <summary>Which policy; in a training config it comes from lr-policy, the section holds the policies' settings.</summary>
    [YamlDotNet.Serialization.YamlIgnore] public LrPolicyKind Kind { get; init; } = LrPolicyKind.Fixed;
    /// <summary>Plateau: multiply the rate by this when the validation loss stalls (the study: 0.1).</summary>
    public double PlateauFactor { get; init; } = 0.1;
    /// <summary>Plateau: epochs without improvement tolerated before reducing (the study: 5).</summary>
    public int PlateauPatience { get; init; } = 5;
    /// <summary>Plateau: relative improvement that counts (PyTorch's default 1e-4).</summary>
    public double PlateauThreshold { get; init; } = 1e-4;
    /// <summary>Plateau: floor of the rate; cosine: the rate it ends at.</summary>
    public double MinLearningRate { get; init; }
    /// <summary>One-cycle: fraction of the steps spent warming up to the peak.</summary>
    public double OneCyclePctStart { get; init; } = 0.3;
    /// <summary>One-cycle: starting rate = peak / this.</summary>
    public double OneCycleDivFactor { get; init; } = 25;
    /// <summary>One-cycle: final rate = starting rate / this.</summary>
    public double OneCycleFinalDivFactor { get; init; } = 1e4;
    /// <summary>One-cycle: cycle momentum (SGD) or beta1 (Adam, AdamW, Novograd, Lion) inversely to the rate, 0.95 to 0.85.</summary>
    public bool OneCycleCycleMomentum { get; init; } = true;

    public LrPolicySettings Validate()
    {
        Check(PlateauFactor is > 0 and < 1, nameof(PlateauFactor), PlateauFactor, "must lie in (0, 1)");
        Check(PlateauPatience >= 0, nameof(PlateauPatience), PlateauPatience, "must be at least 0 epochs");
        Check(PlateauThreshold >= 0 && double.IsFinite(PlateauThreshold), nameof(PlateauThreshold), PlateauThreshold, "must be a finite number >= 0");
        Check(MinLearningRate >= 0 && double.IsFinite(MinLearningRate), nameof(MinLearningRate), MinLearningRate, "must be a finite number >= 0");
        Check(OneCyclePctStart is > 0 and < 1, nameof(OneCyclePctStart), OneCyclePctStart, "must lie in (0, 1)");
        Check(OneCycleDivFactor > 0 && double.IsFinite(OneCycleDivFactor), nameof(OneCycleDivFactor), OneCycleDivFactor, "must be a positive number");
        Check(OneCycleFinalDivFactor > 0 && double.IsFinite(OneCycleFinalDivFactor), nameof(OneCycleFinalDivFactor), OneCycleFinalDivFactor, "must be a positive number");
        return this;
    }

    private static void Check(bool ok, string name, object value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, rule);
    }
}

/// <summary>What a policy has seen, enough to rebuild it exactly on resume.</summary>
public sealed record LrPolicyState(int OptimizerSteps, IReadOnlyList<double> ValidationLosses);

/// <summary>
/// One learning-rate policy over TorchSharp's schedulers. The engine calls <see cref="AfterOptimizerStep"/>
/// after every optimizer step and <see cref="AfterEpoch"/> after every validation; each policy listens to one:
/// <list type="bullet">
/// <item>fixed: the initial rate throughout.</item>
/// <item>plateau (ReduceLROnPlateau): per epoch, on the validation loss; × factor after more than
/// patience epochs without a relative improvement of threshold.</item>
/// <item>cosine (CosineAnnealingLR): per optimizer step, from the initial rate down to MinLearningRate at
/// the last step of the last epoch.</item>
/// <item>one-cycle (OneCycleLR): per optimizer step, peak = the initial rate, reached after pct_start
/// of all steps, then annealed (cosine) to peak / (div · final_div).</item>
/// </list>
/// The base rate is the optimizer's initial learning rate (<see cref="OptimizerLearningRate.SetInitial"/>).
/// TorchSharp's schedulers have no state dict, so resume replays what the policy saw
/// (<see cref="State"/>); the replay starts from the initial rate, so it does not matter whether the
/// optimizer state is loaded before or after, and loading it afterwards restores the same rate and betas.
/// </summary>
public sealed class LrPolicy
{
    private readonly Optimizer _optimizer;
    private readonly lr_scheduler.LRScheduler? _scheduler;
    private readonly List<double> _validationLosses = [];
    private int _optimizerSteps;

    public LrPolicyKind Kind { get; }

    /// <summary>Optimizer steps the schedule spans (epochs × steps per epoch).</summary>
    public int TotalSteps { get; }

    /// <summary>The rate the next optimizer step will use.</summary>
    public double LearningRate => OptimizerLearningRate.Get(_optimizer);

    public LrPolicyState State => new(_optimizerSteps, _validationLosses.ToArray());

    private LrPolicy(LrPolicyKind kind, Optimizer optimizer, lr_scheduler.LRScheduler? scheduler, int totalSteps)
    {
        Kind = kind;
        _optimizer = optimizer;
        _scheduler = scheduler;
        TotalSteps = totalSteps;
    }

    /// <summary>Creates the policy for a run of <paramref name="epochs"/> × <paramref name="stepsPerEpoch"/> optimizer steps,
    /// replaying <paramref name="resumeFrom"/> when given.</summary>
    public static LrPolicy Create(LrPolicySettings settings, Optimizer optimizer, int epochs, int stepsPerEpoch, LrPolicyState? resumeFrom = null)
    {
        if (epochs < 1 || stepsPerEpoch < 1)
            throw new GreenSegException($"learning-rate policy: epochs ({epochs}) and steps per epoch ({stepsPerEpoch}) must be >= 1");
        int totalSteps = checked(epochs * stepsPerEpoch);
        // A replay must start where the run started.
        if (resumeFrom is not null)
            foreach (var group in optimizer.ParamGroups) group.LearningRate = group.InitialLearningRate;
        double baseRate = optimizer.ParamGroups.First().InitialLearningRate;
        var scheduler = settings.Kind switch
        {
            LrPolicyKind.Fixed => null,
            LrPolicyKind.Plateau => lr_scheduler.ReduceLROnPlateau(optimizer, "min", settings.PlateauFactor, settings.PlateauPatience,
                settings.PlateauThreshold, "rel", cooldown: 0, min_lr: [settings.MinLearningRate]),
            LrPolicyKind.Cosine => lr_scheduler.CosineAnnealingLR(optimizer, totalSteps, settings.MinLearningRate),
            LrPolicyKind.OneCycle => lr_scheduler.OneCycleLR(optimizer, baseRate, totalSteps, pct_start: settings.OneCyclePctStart,
                cycle_momentum: settings.OneCycleCycleMomentum && HasMomentum(optimizer),
                div_factor: settings.OneCycleDivFactor, final_div_factor: settings.OneCycleFinalDivFactor),
            _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Kind, "unknown policy"),
        };
        var policy = new LrPolicy(settings.Kind, optimizer, scheduler, totalSteps);
        if (resumeFrom is not null)
        {
            for (int i = 0; i < resumeFrom.OptimizerSteps; i++) policy.AfterOptimizerStep();
            foreach (double loss in resumeFrom.ValidationLosses) policy.AfterEpoch(loss);
        }
        return policy;
    }

    /// <summary>Call after every optimizer step; advances cosine and one-cycle.</summary>
    public void AfterOptimizerStep()
    {
        _optimizerSteps++;
        // Past the last step the rate would only be used by steps that never happen (and one-cycle throws).
        if (Kind is LrPolicyKind.Cosine or LrPolicyKind.OneCycle && _optimizerSteps < TotalSteps) _scheduler!.step();
    }

    /// <summary>Call after every validation with the validation loss; advances plateau.</summary>
    public void AfterEpoch(double validationLoss)
    {
        _validationLosses.Add(validationLoss);
        if (Kind == LrPolicyKind.Plateau) _scheduler!.step(validationLoss);
    }

    // Cycling "momentum" into SGD without momentum would switch momentum on; only cycle what is in use.
    private static bool HasMomentum(Optimizer optimizer) =>
        optimizer is IBetas || optimizer is IMomentum { Momentum: > 0 };
}
