using System.Globalization;
using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using GreenSeg.Transforms;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace GreenSeg.Training;

/// <summary>
/// How slices are brought to the network's grid (the config's <c>preprocessing:</c> section); the checkpoint carries it,
/// so segment repeats it.
/// </summary>
public sealed record PreprocessingSection
{
    /// <summary>In-plane spacing (mm) slices are resampled to.</summary>
    public double Spacing { get; init; } = 2.0;
    /// <summary>Side of the square network input, in pixels.</summary>
    public int Size { get; init; } = 128;
    /// <summary>
    /// How each slice's intensities are normalised: percentile scaling (the default since cross-validation chose it on
    /// 2026-12-03: it does not change with how much of the mother's body a slice holds), or z-score over nonzero voxels.
    /// </summary>
    public IntensityNormalization Normalization { get; init; } = IntensityNormalization.Percentile;
    /// <summary>Turn every slice to one canonical in-plane orientation from its image's affine (<see cref="InPlaneOrientation"/>); segment then does the same.</summary>
    public bool CanonicalOrientation { get; init; }

    /// <summary>How slices are brought to the network's grid in this run (and, through the checkpoint, at inference).</summary>
    public PreprocessingOptions ToPreprocessingOptions() => new()
    {
        TargetSpacing = Spacing,
        TargetWidth = Size,
        TargetHeight = Size,
        Normalization = Normalization,
        CanonicalOrientation = CanonicalOrientation,
    };

    public PreprocessingSection Validate()
    {
        OptionCheck.Require(Size is >= ModelLimits.MinSize and <= ModelLimits.MaxSize, "size", $"must lie in {ModelLimits.MinSize}..{ModelLimits.MaxSize} pixels", Size);
        OptionCheck.Require(Spacing is >= ModelLimits.MinSpacingMm and <= ModelLimits.MaxSpacingMm, "spacing", $"must lie in {ModelLimits.MinSpacingMm}..{ModelLimits.MaxSpacingMm} mm", Spacing);
        if (Normalization is not (IntensityNormalization.ZScoreNonzero or IntensityNormalization.Percentile))
            throw new GreenSegException($"normalization must be ZScoreNonzero or Percentile, got '{Normalization}'");
        return this;
    }
}

/// <summary>How prepared slices reach the network (the config's <c>loading:</c> section): caching, prefetch, sampling, augmentation.</summary>
/// <remarks>
/// The <c>augmentation:</c> settings sit here, beside the <c>augment</c> switch that turns them on, as <c>loss-settings:</c> sits
/// beside <c>loss</c> and <c>lr-schedule:</c> beside <c>lr-policy</c>.
/// </remarks>
public sealed record LoadingSection
{
    public CacheMode Cache { get; init; } = CacheMode.Memory;
    public string? CacheDir { get; init; }
    /// <summary>Batches prepared ahead in the background; 0 turns prefetch off.</summary>
    public int Prefetch { get; init; } = 2;
    public bool Augment { get; init; } = true;
    /// <summary>Every slice once per epoch, or slices drawn so that each stack or sequence gets an equal share of an epoch.</summary>
    public BalanceMode Balance { get; init; } = BalanceMode.None;
    /// <summary>
    /// Multi-planar slices: cut planes across each training stack's two other axes added per stored slice
    /// (<see cref="MultiPlanarCuts"/>); 0 = stored slices only, 1 = as many cut planes as stored slices.
    /// </summary>
    public double MultiPlanar { get; init; }
    /// <summary>What augmentation draws when <see cref="Augment"/> is on (the <c>augmentation:</c> section).</summary>
    public AugmentationOptions Augmentation { get; init; } = new();

    public LoadingSection Validate()
    {
        if (!Enum.IsDefined(Cache)) throw new GreenSegException($"cache must be {string.Join(", ", ChoiceNames.Names<CacheMode>())}, got '{Cache}'");
        if (Prefetch < 0) throw new GreenSegException($"prefetch must be >= 0, got {Prefetch}");
        if (!Enum.IsDefined(Balance)) throw new GreenSegException($"balance must be {string.Join(", ", ChoiceNames.Names<BalanceMode>())}, got '{Balance}'");
        if (!(MultiPlanar >= 0) || !double.IsFinite(MultiPlanar)) throw new GreenSegException($"multi-planar must be a number >= 0 (cut planes per stored slice), got {MultiPlanar}");
        OptionCheck.Section("augmentation", Augmentation, "shift-probability: 0.5", a => a.Validate());
        return this;
    }
}

/// <summary>Where and how the network computes (the config's <c>compute:</c> section).</summary>
public sealed record ComputeSection
{
    public PrecisionChoice Precision { get; init; } = PrecisionChoice.Auto;
    public bool ChannelsLast { get; init; } = true;
    /// <summary>libtorch threads; 0 keeps libtorch's default.</summary>
    public int Threads { get; init; }
    /// <summary>cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";

    public ComputeSection Validate()
    {
        OptionCheck.HasValue("device", Device);
        if (!Enum.IsDefined(Precision)) throw new GreenSegException($"precision '{Precision}': {ChoiceNames.Expected(typeof(PrecisionChoice))}");
        TorchRuntime.ValidateThreads(Threads);
        return this;
    }
}

/// <summary>What is minimised and how (the config's <c>optimisation:</c> section): loss, optimizer, learning rate, batch size.</summary>
public sealed record OptimisationSection
{
    public LossKind Loss { get; init; } = LossKind.DiceBce;
    /// <summary>The losses' own settings (the <c>loss-settings:</c> section: dice-smooth, dice-per-sample, dice-weight, bce-weight, focal-…).</summary>
    public LossSettings LossSettings { get; init; } = new();
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    /// <summary>A number, or "auto" to run the LR finder first.</summary>
    public string LearningRate { get; init; } = "1e-3";
    public double WeightDecay { get; init; }
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; }
    public bool GradAveraging { get; init; }
    public bool AmsGrad { get; init; }
    /// <summary>Max gradient norm; 0 turns clipping off.</summary>
    public double GradClip { get; init; }
    /// <summary>
    /// Keep an exponential moving average of the weights with this decay (0.995: about the last 200 steps) and make it
    /// the model (<see cref="WeightAverage"/>); 0 turns it off. On by default: cross-validation by stack put it ahead of the
    /// last step's weights on two seeds and left one sequence out, at the same energy (README, cross-validation).
    /// </summary>
    public double EmaDecay { get; init; } = 0.995;
    /// <summary>A number, or "auto" to pick the batch size with the best throughput that fits <see cref="MemoryLimitMb"/>.</summary>
    public string BatchSize { get; init; } = "8";
    public int MemoryLimitMb { get; init; } = 8192;

    [YamlIgnore] public bool LearningRateIsAuto => IsAuto(LearningRate);
    [YamlIgnore] public bool BatchSizeIsAuto => IsAuto(BatchSize);
    [YamlIgnore] public double FixedLearningRate => ParsePositive(LearningRate, "learning-rate");
    [YamlIgnore] public int FixedBatchSize => (int)ParsePositive(BatchSize, "batch-size");

    public OptimisationSection Validate()
    {
        OptionCheck.HasValue("learning-rate", LearningRate);
        OptionCheck.HasValue("batch-size", BatchSize);
        if (!Enum.IsDefined(Loss)) throw new GreenSegException($"loss '{Loss}': {ChoiceNames.Expected(typeof(LossKind))}");
        if (!Enum.IsDefined(Optimizer)) throw new GreenSegException($"optimizer '{Optimizer}': {ChoiceNames.Expected(typeof(OptimizerKind))}");
        OptionCheck.Require(GradClip >= 0 && double.IsFinite(GradClip), "grad-clip", "must be a finite number >= 0 (0: off)", GradClip);
        OptionCheck.Require(EmaDecay is >= 0 and < 1, "ema-decay", "must lie in [0, 1) (0: off)", EmaDecay);
        OptionCheck.Require(Momentum >= 0 && Momentum < 1, "momentum", "must lie in [0, 1)", Momentum);
        OptionCheck.Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), "weight-decay", "must be a finite number >= 0", WeightDecay);
        OptionCheck.Require(MemoryLimitMb >= 1, "memory-limit-mb", "must be at least 1", MemoryLimitMb);
        if (!LearningRateIsAuto) _ = FixedLearningRate;
        if (!BatchSizeIsAuto) _ = FixedBatchSize;
        OptionCheck.Section("loss-settings", LossSettings, "dice-smooth: 1", s => s.Validate());
        return this;
    }

    private static bool IsAuto(string text) => text.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);

    private static double ParsePositive(string text, string option)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0 && double.IsFinite(value))
            return value;
        throw new GreenSegException($"{option} '{text}': expected a positive number or auto");
    }
}

/// <summary>How long a run is and how its learning rate moves (the config's <c>schedule:</c> section), LR finder included.</summary>
public sealed record ScheduleSection
{
    public int Epochs { get; init; } = 25;
    public LrPolicyKind LrPolicy { get; init; } = LrPolicyKind.Plateau;
    /// <summary>The policies' own settings (the <c>lr-schedule:</c> section: plateau-factor, plateau-patience, min-learning-rate, one-cycle-…).</summary>
    public LrPolicySettings LrSchedule { get; init; } = new();
    public int LrFinderSteps { get; init; } = 60;
    /// <summary>The rates the LR finder sweeps between (exponentially).</summary>
    public double LrFinderMinLr { get; init; } = 1e-5;
    public double LrFinderMaxLr { get; init; } = 1;

    /// <summary>The policy and its settings, as <see cref="Schedules.LrPolicy.Create"/> takes them.</summary>
    public LrPolicySettings Policy() => LrSchedule with { Kind = LrPolicy };

    public ScheduleSection Validate()
    {
        if (Epochs < 1) throw new GreenSegException($"epochs must be at least 1, got {Epochs}");
        if (!Enum.IsDefined(LrPolicy)) throw new GreenSegException($"lr-policy '{LrPolicy}': {ChoiceNames.Expected(typeof(LrPolicyKind))}");
        OptionCheck.Require(LrFinderSteps >= 2, "lr-finder-steps", "must be at least 2", LrFinderSteps);
        OptionCheck.Require(LrFinderMinLr > 0 && LrFinderMinLr < LrFinderMaxLr && double.IsFinite(LrFinderMaxLr), "lr-finder-min-lr", "must be positive and below lr-finder-max-lr", LrFinderMinLr);
        OptionCheck.Section("lr-schedule", LrSchedule, "plateau-patience: 3", s => s.Validate());
        return this;
    }
}

/// <summary>When a run stops before its last epoch and which epoch is its model (the config's <c>stopping:</c> section).</summary>
public sealed record StoppingSection
{
    public int EarlyStoppingPatience { get; init; } = 10;
    public double EarlyStoppingMinDelta { get; init; }
    public SelectionMetric SelectBestBy { get; init; } = SelectionMetric.Dice;
    /// <summary>Whether the best epoch has the highest validation Dice (else the lowest validation loss).</summary>
    [YamlIgnore] public bool SelectsByDice => SelectBestBy == SelectionMetric.Dice;
    /// <summary>
    /// Score validation stacks after the post-processing `greenseg segment` will apply (the <c>postprocessing:</c> section's
    /// components, holes filled per slice), so the selected checkpoint is the best at what users get; the raw Dice is kept too.
    /// </summary>
    public bool PostprocessValidation { get; init; } = true;
    /// <summary>e.g. "50kJ"; training stops when this much energy is spent (the best checkpoint is kept).</summary>
    public string? EnergyBudget { get; init; }
    /// <summary>Stop when validation Dice gained per kJ over <see cref="GreenStopWindow"/> epochs falls below this.</summary>
    public double? GreenStopDicePerKj { get; init; }
    public int GreenStopWindow { get; init; } = 3;

    public StoppingSection Validate()
    {
        OptionCheck.Require(EarlyStoppingPatience >= 1, "early-stopping-patience", "must be at least 1", EarlyStoppingPatience);
        OptionCheck.Require(EarlyStoppingMinDelta >= 0 && double.IsFinite(EarlyStoppingMinDelta), "early-stopping-min-delta", "must be a finite number >= 0", EarlyStoppingMinDelta);
        OptionCheck.Require(GreenStopDicePerKj is null || (GreenStopDicePerKj >= 0 && double.IsFinite(GreenStopDicePerKj.Value)), "green-stop-dice-per-kj", "must be a finite number >= 0", GreenStopDicePerKj);
        OptionCheck.Require(GreenStopWindow >= 1, "green-stop-window", "must be at least 1", GreenStopWindow);
        if (!Enum.IsDefined(SelectBestBy)) throw new GreenSegException($"select-best-by must be {string.Join(" or ", ChoiceNames.Names<SelectionMetric>())}, got '{SelectBestBy}'");
        return this;
    }
}

/// <summary>
/// How a predicted mask is cleaned up (the config's <c>postprocessing:</c> section): which connected components are kept.
/// Validation scores stacks with it, and the checkpoint carries it, so <c>greenseg segment</c> cleans up as the recipe that
/// cross-validation chose, unless told otherwise (as nnU-Net's post-processing travels with its model).
/// </summary>
public sealed record PostprocessingSection
{
    /// <summary>
    /// Large by default since 2026-12-04: on every cross-validation of today's recipes it scored at least the largest
    /// component's mean, mostly by keeping brains that fetal motion splits into 3D pieces (README, "Post-processing").
    /// </summary>
    public Transforms.ComponentSelection Components { get; init; } = Transforms.ComponentSelection.Large;
    /// <summary>With <see cref="Components"/> large: the smallest component kept, as a share of the largest's voxels.</summary>
    public double MinComponentShare { get; init; } = Transforms.PostProcessingOptions.DefaultMinComponentShare;

    /// <summary>Segment's post-processing with this section's component selection.</summary>
    public Transforms.PostProcessingOptions ToPostProcessingOptions() =>
        Transforms.PostProcessingOptions.Default with { Components = Components, MinComponentShare = MinComponentShare };

    public PostprocessingSection Validate()
    {
        if (!Enum.IsDefined(Components)) throw new GreenSegException($"components must be {string.Join(", ", ChoiceNames.Names<Transforms.ComponentSelection>())}, got '{Components}'");
        OptionCheck.Require(MinComponentShare is > 0 and <= 1, "min-component-share", "must lie in (0, 1]", MinComponentShare);
        return this;
    }
}

/// <summary>
/// The config's <c>distillation:</c> section: which trained run teaches this one (<see cref="DistillationHook"/>), and how
/// much its softened probabilities count against the labels.
/// </summary>
public sealed record DistillationSection
{
    /// <summary>The teacher: a run folder, checkpoint folder or model.pt trained with the same preprocessing; null trains without one.</summary>
    public string? DistillFrom { get; init; }
    /// <summary>Share of the distillation term in the loss, in [0, 1].</summary>
    public double DistillWeight { get; init; } = 0.5;
    /// <summary>Softening temperature of both networks' logits (&gt; 0; 1 leaves them as they are).</summary>
    public double DistillTemperature { get; init; } = 2;

    public DistillationSection Validate()
    {
        OptionCheck.Require(DistillWeight is >= 0 and <= 1, "distill-weight", "must lie in [0, 1]", DistillWeight);
        OptionCheck.Require(DistillTemperature > 0 && double.IsFinite(DistillTemperature), "distill-temperature", "must be a finite number > 0", DistillTemperature);
        if (DistillFrom is { } teacher && string.IsNullOrWhiteSpace(teacher)) throw new GreenSegException("distill-from is empty; give the teacher's run folder or remove the key");
        return this;
    }
}

/// <summary>How many processes train one run (the config's <c>parallel: distributed:</c>).</summary>
public enum DistributedMode
{
    /// <summary>One process (MPI is not loaded).</summary>
    [EnumMember(Value = "none")] None,
    /// <summary>Data parallel over MPI: every process started by mpiexec or srun is one rank; gradients averaged by Allreduce.</summary>
    [EnumMember(Value = "mpi")] Mpi,
}

/// <summary>How gradient buckets travel between ranks (the config's <c>parallel: grad-compression:</c>).</summary>
public enum GradCompression
{
    /// <summary>fp32, as computed.</summary>
    [EnumMember(Value = "none")] None,
    /// <summary>Buckets travel as bfloat16 (half the bytes), with error feedback; decoded and averaged in fp32.</summary>
    [EnumMember(Value = "bf16")] Bf16,
    /// <summary>Buckets travel as int8 with one fp32 scale per chunk (a quarter of the bytes), with error feedback.</summary>
    [EnumMember(Value = "int8")] Int8,
}

/// <summary>
/// The config's <c>parallel:</c> section: data-parallel training across processes (<c>mpiexec -n N greenseg train</c>).
/// The batch size is each rank's; the global batch is it times the ranks.
/// </summary>
public sealed record ParallelSection
{
    public DistributedMode Distributed { get; init; } = DistributedMode.None;
    public GradCompression GradCompression { get; init; } = GradCompression.None;
    /// <summary>1 averages gradients every step; K &gt; 1 is local SGD: each rank steps alone and the weights are averaged (in fp32, whatever <see cref="GradCompression"/> says) every K steps.</summary>
    public int SyncEvery { get; init; } = 1;
    /// <summary>BatchNorm normalises with the statistics of the global batch (summed across ranks, forward and backward), as PyTorch's SyncBatchNorm.</summary>
    [YamlMember(Alias = "sync-batchnorm")]
    public bool SyncBatchNorm { get; init; }
    /// <summary>Seconds a collective call waits for the other ranks before this rank aborts the job (a hung or stopped rank).</summary>
    public double CollectiveTimeout { get; init; } = 600;

    public ParallelSection Validate()
    {
        if (!Enum.IsDefined(Distributed)) throw new GreenSegException($"distributed must be {string.Join(" or ", ChoiceNames.Names<DistributedMode>())}, got '{Distributed}'");
        if (!Enum.IsDefined(GradCompression)) throw new GreenSegException($"grad-compression must be {string.Join(" or ", ChoiceNames.Names<GradCompression>())}, got '{GradCompression}'");
        OptionCheck.Require(SyncEvery >= 1, "sync-every", "must be at least 1", SyncEvery);
        OptionCheck.Require(CollectiveTimeout > 0 && double.IsFinite(CollectiveTimeout), "collective-timeout", "must be a positive number of seconds", CollectiveTimeout);
        return this;
    }
}

/// <summary>The checks the option sections share; each error starts with the config's key.</summary>
internal static class OptionCheck
{
    public static void Require(bool condition, string option, string rule, object? value)
    {
        if (!condition) throw new GreenSegException($"{option} {rule}, got {Convert.ToString(value, CultureInfo.InvariantCulture)}");
    }

    /// <summary>YAML can set a text option to null ("device: null", or "device:" with nothing after it).</summary>
    public static void HasValue(string option, string? value)
    {
        if (value is null) throw new GreenSegException($"{option} has no value; give one or remove the key");
    }

    /// <summary>A section YAML left empty ("loss-settings:" with nothing under it) reads as null.</summary>
    public static void NotEmpty(string name, object? section, string example)
    {
        if (section is null) throw new GreenSegException($"{name}: the section is empty; give keys under it (e.g. {example}) or remove it");
    }

    /// <summary>Validates a settings section; a bad value is reported by the config's key (e.g. "augmentation gamma-probability").</summary>
    public static void Section<T>(string name, T? section, string example, Action<T> validate) where T : class
    {
        NotEmpty(name, section, example);
        try
        {
            validate(section!);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new GreenSegException($"{name} {HyphenatedNamingConvention.Instance.Apply(e.ParamName ?? "")}: {e.Message.Split(" (Parameter")[0]}");
        }
    }
}
