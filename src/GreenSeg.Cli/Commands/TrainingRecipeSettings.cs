using System.ComponentModel;
using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Studies;
using GreenSeg.Training;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

/// <summary>
/// The training recipe's options, shared by <c>greenseg train</c>, <c>greenseg e2mip</c> and <c>greenseg crossval</c>.
/// Each option that is given overrides the option of the same key in <see cref="TrainingOptions"/> (from --config,
/// --baseline or --study-green, else the defaults), as a study's <c>set:</c> would.
/// </summary>
public abstract class TrainingRecipeSettings : EnergySettings
{
    [CommandOption("--config <FILE>")] [Description("YAML file of options (config.yaml of a run, sections or flat keys as the long option names); flags override it.")]
    public string? Config { get; init; }
    [CommandOption("--baseline")] [Description("Start from the study's baseline recipe (unet 64, fp32, no cache, Adam, fixed LR, z-score) instead of today's default.")]
    public bool Baseline { get; init; }
    [CommandOption("--study-green")] [Description("Start from the study's green recipe (att-squeeze-unet at 256x256 and 1 mm, Novograd with the LR finder, 40 epochs, z-score, no weight averaging) instead of today's default.")]
    public bool StudyGreen { get; init; }

    [CommandOption("--validation-fraction <F>")] public double? ValidationFraction { get; init; }
    [CommandOption("--final")] [Description("Train on every stack (none held out) for the fixed --epochs; the last epoch is the model.")]
    public bool? Final { get; init; }
    [CommandOption("--seed <N>")] public int? Seed { get; init; }
    [CommandOption("--split-seed <N>")] [Description("Seed of the validation split (default: --seed).")]
    public int? SplitSeed { get; init; }
    [CommandOption("--spacing <MM>")] [Description("In-plane spacing slices are resampled to (default 2).")]
    public double? Spacing { get; init; }
    [CommandOption("--size <PIXELS>")] [Description("Side of the square network input (default 128).")]
    public int? Size { get; init; }
    [CommandOption("--normalization <MODE>")] [Description("Percentile (default: each slice's 1st..99th percentile range mapped to 0..1) | ZScoreNonzero (z-score over nonzero voxels): per-slice intensity normalisation.")]
    [TypeConverter(typeof(ChoiceConverter<GreenSeg.Transforms.IntensityNormalization>))]
    public GreenSeg.Transforms.IntensityNormalization? Normalization { get; init; }
    [CommandOption("--cache <MODE>")] [Description("none | memory | disk")]
    [TypeConverter(typeof(ChoiceConverter<Data.CacheMode>))]
    public Data.CacheMode? Cache { get; init; }
    [CommandOption("--cache-dir <DIR>")] public string? CacheDir { get; init; }
    [CommandOption("--prefetch <N>")] [Description("Batches prepared in the background (0 = off).")]
    public int? Prefetch { get; init; }
    [CommandOption("--augment <BOOL>")] [Description("Random augmentation each epoch; what it draws is the config's loading: augmentation: section.")]
    public bool? Augment { get; init; }
    [CommandOption("--balance <MODE>")] [Description("none | stack | sequence: give each stack or each sequence an equal share of an epoch.")]
    [TypeConverter(typeof(ChoiceConverter<BalanceMode>))]
    public BalanceMode? Balance { get; init; }
    [CommandOption("--canonical-orientation")] [Description("Turn every slice to one in-plane orientation from its file's affine (transposes and flips only); segment does the same.")]
    public bool CanonicalOrientation { get; init; }
    [CommandOption("--multi-planar <SHARE>")] [Description("Also train on planes cut across each stack's two other axes: this many cut planes per stored slice (e.g. 1 doubles an epoch; default 0).")]
    public double? MultiPlanar { get; init; }
    [CommandOption("--synthetic-contrast <P>")] [Description("Probability that a slice is redrawn with a random synthetic contrast before the other augmentations (loading: augmentation: synthetic-contrast-probability; default 0).")]
    public double? SyntheticContrast { get; init; }

    [CommandOption("-m|--model <NAME>")] [Description("Model name (greenseg models list).")]
    public string? Model { get; init; }
    [CommandOption("--model-width <N>")] public int? ModelWidth { get; init; }
    [CommandOption("--first-stage-width <N>")] [Description("Width of a U-Net's full-resolution stage (default: the model width); narrower is a cheaper step.")]
    public int? FirstStageWidth { get; init; }
    [CommandOption("--precision <P>")] [Description("auto (bf16-mixed where bf16 runs in hardware, else fp32) | fp32 | bf16-mixed | fp16-mixed (CUDA); bf16 and fp16 are accepted too.")]
    [TypeConverter(typeof(ChoiceConverter<PrecisionChoice>))]
    public PrecisionChoice? Precision { get; init; }
    [CommandOption("--channels-last <BOOL>")] public bool? ChannelsLast { get; init; }
    [CommandOption("--threads <N>")] public int? Threads { get; init; }
    [CommandOption("--device <DEVICE>")] [Description("cpu | cuda | cuda:N")]
    public string? Device { get; init; }

    [CommandOption("--loss <NAME>")] [Description("dice | dice-bce | bce | focal (settings: the config's optimisation: loss-settings: section)")]
    [TypeConverter(typeof(ChoiceConverter<LossKind>))]
    public LossKind? Loss { get; init; }
    [CommandOption("--optimizer <NAME>")] [Description("sgd | adam | adamw | novograd | lion")]
    [TypeConverter(typeof(ChoiceConverter<OptimizerKind>))]
    public OptimizerKind? Optimizer { get; init; }
    [CommandOption("--lr|--learning-rate <LR>")] [Description("A number, or auto (LR finder).")]
    public string? LearningRate { get; init; }
    [CommandOption("--lr-policy <NAME>")] [Description("fixed | plateau | cosine | one-cycle (settings: the config's schedule: lr-schedule: section)")]
    [TypeConverter(typeof(ChoiceConverter<LrPolicyKind>))]
    public LrPolicyKind? LrPolicy { get; init; }
    [CommandOption("--weight-decay <W>")] public double? WeightDecay { get; init; }
    [CommandOption("--momentum <M>")] public double? Momentum { get; init; }
    [CommandOption("--nesterov <BOOL>")] public bool? Nesterov { get; init; }
    [CommandOption("--grad-averaging <BOOL>")] public bool? GradAveraging { get; init; }
    [CommandOption("--amsgrad <BOOL>")] public bool? AmsGrad { get; init; }
    [CommandOption("--grad-clip <NORM>")] public double? GradClip { get; init; }
    [CommandOption("--ema-decay <D>")] [Description("Make the model a moving average of the weights, updated after every step with this decay (default 0.995: about the last 200 steps; 0: off, the last step's weights are the model).")]
    public double? EmaDecay { get; init; }
    [CommandOption("-b|--batch-size <N>")] [Description("A number, or auto (batch-size finder).")]
    public string? BatchSize { get; init; }
    [CommandOption("--memory-limit-mb <MB>")] public int? MemoryLimitMb { get; init; }
    [CommandOption("-e|--epochs <N>")] public int? Epochs { get; init; }
    [CommandOption("--lr-finder-steps <N>")] public int? LrFinderSteps { get; init; }

    [CommandOption("--early-stopping-patience <N>")] public int? EarlyStoppingPatience { get; init; }
    [CommandOption("--early-stopping-min-delta <D>")] public double? EarlyStoppingMinDelta { get; init; }
    [CommandOption("--select-best-by <METRIC>")] [Description("dice | loss")]
    [TypeConverter(typeof(ChoiceConverter<SelectionMetric>))]
    public SelectionMetric? SelectBestBy { get; init; }
    [CommandOption("--postprocess-validation <BOOL>")] [Description("Score validation stacks after the post-processing the model carries (--components, holes filled); default true.")]
    public bool? PostprocessValidation { get; init; }
    [CommandOption("--components <WHICH>")] [Description("Post-processing the model carries (segment applies it unless told otherwise; validation scores with it): which connected components of the thresholded mask are kept: large (the default: every one of at least --min-component-share of the largest) | largest | all.")]
    [TypeConverter(typeof(ChoiceConverter<GreenSeg.Transforms.ComponentSelection>))]
    public GreenSeg.Transforms.ComponentSelection? Components { get; init; }
    [CommandOption("--min-component-share <SHARE>")] [Description("With --components large: the smallest component kept, as a share of the largest (default 0.1).")]
    public double? MinComponentShare { get; init; }
    [CommandOption("--energy-budget <ENERGY>")] [Description("Stop when this much energy is spent, e.g. 50kJ, 2Wh.")]
    public string? EnergyBudget { get; init; }
    [CommandOption("--green-stop-dice-per-kj <D>")] [Description("Stop when validation Dice gained per kJ (over --green-stop-window epochs) falls below this.")]
    public double? GreenStopDicePerKj { get; init; }
    [CommandOption("--green-stop-window <N>")] public int? GreenStopWindow { get; init; }

    [CommandOption("--distill-from <RUN>")] [Description("Distil from this trained run (same preprocessing): the loss also follows the teacher's softened probabilities; its forward passes count in this run's energy.")]
    public string? DistillFrom { get; init; }
    [CommandOption("--distill-weight <W>")] [Description("Share of the distillation term in the loss, 0..1 (default 0.5).")]
    public double? DistillWeight { get; init; }
    [CommandOption("--distill-temperature <T>")] [Description("Temperature softening both networks' logits (default 2).")]
    public double? DistillTemperature { get; init; }

    [CommandOption("--distributed <MODE>")] [Description("none | mpi: data parallel over the processes mpiexec or srun started (batch size is per rank; rank 0 writes the run).")]
    [TypeConverter(typeof(ChoiceConverter<DistributedMode>))]
    public DistributedMode? Distributed { get; init; }
    [CommandOption("--grad-compression <MODE>")] [Description("none | bf16 | int8: gradient buckets travel compressed (half or a quarter of the bytes), with error feedback.")]
    [TypeConverter(typeof(ChoiceConverter<GradCompression>))]
    public GradCompression? GradCompression { get; init; }
    [CommandOption("--sync-every <K>")] [Description("1: average gradients every step; K > 1: local SGD, weights averaged every K steps.")]
    public int? SyncEvery { get; init; }
    [CommandOption("--sync-batchnorm")] [Description("BatchNorm uses the statistics of the global batch (summed across ranks), as PyTorch's SyncBatchNorm.")]
    public bool SyncBatchNorm { get; init; }
    [CommandOption("--collective-timeout <SECONDS>")] [Description("A rank that waits this long for the others in a collective aborts the job (default 600).")]
    public double? CollectiveTimeout { get; init; }
    [CommandOption("--set <KEY=VALUE>")] [Description("Any training option by its config key or dotted path, e.g. --set augmentation.max-scale=1.4 (repeatable; applied after the other flags).")]
    public string[] Set { get; init; } = [];


    /// <summary>
    /// Base options (config file, one of the study's recipes, or the defaults) with every given flag applied (<see cref="Settings"/>) through
    /// the mechanism a study's <c>set:</c> uses; a flag not given keeps the base's value.
    /// </summary>
    public TrainingOptions Resolve()
    {
        string[] bases = [.. new (bool Given, string Flag)[] { (Config is not null, "--config"), (Baseline, "--baseline"), (StudyGreen, "--study-green") }
            .Where(b => b.Given).Select(b => b.Flag)];
        if (bases.Length > 1) throw new GreenSegException($"{string.Join(" and ", bases)} each give the recipe to start from: give one of them");
        var options = Config is not null ? TrainingOptions.Load(Config)
            : Baseline ? TrainingOptions.Baseline("")
            : StudyGreen ? TrainingOptions.StudyGreen("")
            : new TrainingOptions();
        return OptionOverrides.Apply(options, Settings(), "the command line");
    }

    /// <summary>
    /// Every given flag as the option setting it stands for (the config's key, the value as invariant text). Spelled out
    /// flag by flag: a key that no longer names an option fails the first run that gives its flag, and the test that gives them all.
    /// </summary>
    public IReadOnlyList<OptionSetting> Settings()
    {
        var flags = new FlagSettings()
            .Add("validation-fraction", ValidationFraction).Add("final", Final).Add("seed", Seed).Add("split-seed", SplitSeed)
            .Add("model", Model).Add("model-width", ModelWidth).Add("first-stage-width", FirstStageWidth)
            .Add("spacing", Spacing).Add("size", Size).Add("normalization", Normalization)
            .Add("cache", Cache).Add("cache-dir", CacheDir).Add("prefetch", Prefetch).Add("augment", Augment).Add("balance", Balance)
            .Add("multi-planar", MultiPlanar)
            .Add("precision", Precision).Add("channels-last", ChannelsLast).Add("threads", Threads).Add("device", Device)
            .Add("loss", Loss).Add("optimizer", Optimizer).Add("learning-rate", LearningRate).Add("weight-decay", WeightDecay)
            .Add("momentum", Momentum).Add("nesterov", Nesterov).Add("grad-averaging", GradAveraging).Add("ams-grad", AmsGrad)
            .Add("grad-clip", GradClip).Add("ema-decay", EmaDecay).Add("batch-size", BatchSize).Add("memory-limit-mb", MemoryLimitMb)
            .Add("epochs", Epochs).Add("lr-policy", LrPolicy).Add("lr-finder-steps", LrFinderSteps)
            .Add("early-stopping-patience", EarlyStoppingPatience).Add("early-stopping-min-delta", EarlyStoppingMinDelta)
            .Add("select-best-by", SelectBestBy).Add("postprocess-validation", PostprocessValidation)
            .Add("components", Components).Add("min-component-share", MinComponentShare).Add("energy-budget", EnergyBudget)
            .Add("green-stop-dice-per-kj", GreenStopDicePerKj).Add("green-stop-window", GreenStopWindow)
            .Add("distill-from", DistillFrom).Add("distill-weight", DistillWeight).Add("distill-temperature", DistillTemperature)
            .Add("distributed", Distributed).Add("grad-compression", GradCompression).Add("sync-every", SyncEvery)
            .Add("collective-timeout", CollectiveTimeout)
            .Add("cpu-tdp", CpuTdp).Add("country", Country).Add("carbon-intensity", CarbonIntensity)
            // Under loading's augmentation: section.
            .Add("augmentation.synthetic-contrast-probability", SyntheticContrast);
        // A switch: given, it turns the option on; not given, it leaves the base's value.
        if (CanonicalOrientation) flags.Add("canonical-orientation", true);
        if (SyncBatchNorm) flags.Add("sync-batchnorm", true);
        // --pue has a default of its own: only a value other than it overrides the base.
        if (Pue != DefaultPue) flags.Add("pue", Pue);
        return [.. flags.Settings, .. Set.Select(StudyOverrides.ParseSetting), .. DataSettings()];
    }

    /// <summary>A command's own data flags (--data, --validation-data) as option settings.</summary>
    protected virtual IEnumerable<OptionSetting> DataSettings() => [];
}

/// <summary>Given flags as option settings: the config's key and the value as invariant-culture text; a flag not given (null) adds nothing.</summary>
public sealed class FlagSettings
{
    private readonly List<OptionSetting> _settings = [];

    public IReadOnlyList<OptionSetting> Settings => _settings;

    public FlagSettings Add(string key, string? value)
    {
        if (value is not null) _settings.Add(new OptionSetting(key, value));
        return this;
    }

    public FlagSettings Add(string key, double? value) => Add(key, value?.ToString("R", CultureInfo.InvariantCulture));

    public FlagSettings Add(string key, int? value) => Add(key, value?.ToString(CultureInfo.InvariantCulture));

    public FlagSettings Add(string key, bool? value) => Add(key, value switch { true => "true", false => "false", null => null });

    public FlagSettings Add<T>(string key, T? value) where T : struct, Enum => Add(key, value is T choice ? ChoiceNames.Name(choice) : null);
}
