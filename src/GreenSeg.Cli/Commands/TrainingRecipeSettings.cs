using System.ComponentModel;
using GreenSeg.Training;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

/// <summary>
/// The training recipe's options, shared by <c>greenseg train</c> and <c>greenseg e2mip</c>. Each option
/// that is given overrides the value of the same name in <see cref="TrainingOptions"/> (from --config,
/// --baseline, else the green defaults).
/// </summary>
public abstract class TrainingRecipeSettings : EnergySettings
{
    [CommandOption("--config <FILE>")] [Description("YAML file of options (keys as the long option names); flags override it.")]
    public string? Config { get; init; }
    [CommandOption("--baseline")] [Description("Start from the study's baseline recipe (unet 64, fp32, no cache, Adam, fixed LR) instead of the green one.")]
    public bool Baseline { get; init; }

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
    [CommandOption("--normalization <MODE>")] [Description("ZScoreNonzero (default) | Percentile: per-slice intensity normalisation.")]
    public GreenSeg.Transforms.IntensityNormalization? Normalization { get; init; }
    [CommandOption("--cache <MODE>")] [Description("none | memory | disk")]
    public Data.CacheMode? Cache { get; init; }
    [CommandOption("--cache-dir <DIR>")] public string? CacheDir { get; init; }
    [CommandOption("--prefetch <N>")] [Description("Batches prepared in the background (0 = off).")]
    public int? Prefetch { get; init; }
    [CommandOption("--augment <BOOL>")] [Description("Random augmentation each epoch; what it draws is the config's augmentation: section.")]
    public bool? Augment { get; init; }
    [CommandOption("--balance <MODE>")] [Description("none | stack | sequence: give each stack or each sequence an equal share of an epoch.")]
    public BalanceMode? Balance { get; init; }
    [CommandOption("--canonical-orientation")] [Description("Turn every slice to one in-plane orientation from its file's affine (transposes and flips only); segment does the same.")]
    public bool CanonicalOrientation { get; init; }
    [CommandOption("--multi-planar <SHARE>")] [Description("Also train on planes cut across each stack's two other axes: this many cut planes per stored slice (e.g. 1 doubles an epoch; default 0).")]
    public double? MultiPlanar { get; init; }
    [CommandOption("--synthetic-contrast <P>")] [Description("Probability that a slice is redrawn with a random synthetic contrast before the other augmentations (augmentation: synthetic-contrast-probability; default 0).")]
    public double? SyntheticContrast { get; init; }

    [CommandOption("-m|--model <NAME>")] [Description("Model name (greenseg models list).")]
    public string? Model { get; init; }
    [CommandOption("--model-width <N>")] public int? ModelWidth { get; init; }
    [CommandOption("--precision <P>")] [Description("auto (bf16-mixed where bf16 runs in hardware, else fp32) | fp32 | bf16-mixed | fp16-mixed (CUDA)")]
    public string? Precision { get; init; }
    [CommandOption("--channels-last <BOOL>")] public bool? ChannelsLast { get; init; }
    [CommandOption("--threads <N>")] public int? Threads { get; init; }
    [CommandOption("--device <DEVICE>")] [Description("cpu | cuda | cuda:N")]
    public string? Device { get; init; }

    [CommandOption("--loss <NAME>")] [Description("dice | dice-bce | bce | focal")]
    public string? Loss { get; init; }
    [CommandOption("--optimizer <NAME>")] [Description("sgd | adam | adamw | novograd | lion")]
    public string? Optimizer { get; init; }
    [CommandOption("--lr|--learning-rate <LR>")] [Description("A number, or auto (LR finder).")]
    public string? LearningRate { get; init; }
    [CommandOption("--lr-policy <NAME>")] [Description("fixed | plateau | cosine | one-cycle")]
    public string? LrPolicy { get; init; }
    [CommandOption("--weight-decay <W>")] public double? WeightDecay { get; init; }
    [CommandOption("--momentum <M>")] public double? Momentum { get; init; }
    [CommandOption("--nesterov <BOOL>")] public bool? Nesterov { get; init; }
    [CommandOption("--grad-averaging <BOOL>")] public bool? GradAveraging { get; init; }
    [CommandOption("--amsgrad <BOOL>")] public bool? AmsGrad { get; init; }
    [CommandOption("--grad-clip <NORM>")] public double? GradClip { get; init; }
    [CommandOption("-b|--batch-size <N>")] [Description("A number, or auto (batch-size finder).")]
    public string? BatchSize { get; init; }
    [CommandOption("--memory-limit-mb <MB>")] public int? MemoryLimitMb { get; init; }
    [CommandOption("-e|--epochs <N>")] public int? Epochs { get; init; }
    [CommandOption("--lr-finder-steps <N>")] public int? LrFinderSteps { get; init; }

    [CommandOption("--early-stopping-patience <N>")] public int? EarlyStoppingPatience { get; init; }
    [CommandOption("--early-stopping-min-delta <D>")] public double? EarlyStoppingMinDelta { get; init; }
    [CommandOption("--select-best-by <METRIC>")] [Description("dice | loss")]
    public SelectionMetric? SelectBestBy { get; init; }
    [CommandOption("--postprocess-validation <BOOL>")] [Description("Score validation stacks after segment's post-processing (largest component, holes filled); default true.")]
    public bool? PostprocessValidation { get; init; }
    [CommandOption("--energy-budget <ENERGY>")] [Description("Stop when this much energy is spent, e.g. 50kJ, 2Wh.")]
    public string? EnergyBudget { get; init; }
    [CommandOption("--green-stop-dice-per-kj <D>")] [Description("Stop when validation Dice gained per kJ (over --green-stop-window epochs) falls below this.")]
    public double? GreenStopDicePerKj { get; init; }
    [CommandOption("--green-stop-window <N>")] public int? GreenStopWindow { get; init; }


    /// <summary>
    /// Base options (config file, baseline or defaults) with every given flag applied; a flag not given keeps the
    /// base's value. Spelled out option by option: a renamed option fails to compile instead of silently losing its flag.
    /// </summary>
    public TrainingOptions Resolve()
    {
        var o = Config is not null ? TrainingOptions.Load(Config) : Baseline ? TrainingOptions.Baseline("") : new TrainingOptions();
        o = o with
        {
            ValidationFraction = ValidationFraction ?? o.ValidationFraction,
            Final = Final ?? o.Final,
            Seed = Seed ?? o.Seed,
            SplitSeed = SplitSeed ?? o.SplitSeed,
            Spacing = Spacing ?? o.Spacing,
            Size = Size ?? o.Size,
            Normalization = Normalization ?? o.Normalization,
            Cache = Cache ?? o.Cache,
            CacheDir = CacheDir ?? o.CacheDir,
            Prefetch = Prefetch ?? o.Prefetch,
            Augment = Augment ?? o.Augment,
            Balance = Balance ?? o.Balance,
            CanonicalOrientation = CanonicalOrientation || o.CanonicalOrientation,
            MultiPlanar = MultiPlanar ?? o.MultiPlanar,
            Model = Model ?? o.Model,
            ModelWidth = ModelWidth ?? o.ModelWidth,
            Precision = Precision ?? o.Precision,
            ChannelsLast = ChannelsLast ?? o.ChannelsLast,
            Threads = Threads ?? o.Threads,
            Device = Device ?? o.Device,
            Loss = Loss ?? o.Loss,
            Optimizer = Optimizer ?? o.Optimizer,
            LearningRate = LearningRate ?? o.LearningRate,
            LrPolicy = LrPolicy ?? o.LrPolicy,
            WeightDecay = WeightDecay ?? o.WeightDecay,
            Momentum = Momentum ?? o.Momentum,
            Nesterov = Nesterov ?? o.Nesterov,
            GradAveraging = GradAveraging ?? o.GradAveraging,
            AmsGrad = AmsGrad ?? o.AmsGrad,
            GradClip = GradClip ?? o.GradClip,
            BatchSize = BatchSize ?? o.BatchSize,
            MemoryLimitMb = MemoryLimitMb ?? o.MemoryLimitMb,
            Epochs = Epochs ?? o.Epochs,
            LrFinderSteps = LrFinderSteps ?? o.LrFinderSteps,
            EarlyStoppingPatience = EarlyStoppingPatience ?? o.EarlyStoppingPatience,
            EarlyStoppingMinDelta = EarlyStoppingMinDelta ?? o.EarlyStoppingMinDelta,
            SelectBestBy = SelectBestBy ?? o.SelectBestBy,
            PostprocessValidation = PostprocessValidation ?? o.PostprocessValidation,
            EnergyBudget = EnergyBudget ?? o.EnergyBudget,
            GreenStopDicePerKj = GreenStopDicePerKj ?? o.GreenStopDicePerKj,
            GreenStopWindow = GreenStopWindow ?? o.GreenStopWindow,
            CpuTdp = CpuTdp ?? o.CpuTdp,
            Country = Country ?? o.Country,
            CarbonIntensity = CarbonIntensity ?? o.CarbonIntensity,
            // --pue has a default of its own: only a value other than it overrides the base.
            Pue = Pue != DefaultPue ? Pue : o.Pue,
        };
        // Nested in the augmentation: section; a null section is left for Validate to report.
        if (SyntheticContrast is double probability && o.Augmentation is not null)
            o = o with { Augmentation = o.Augmentation with { SyntheticContrastProbability = probability } };
        return WithData(o);
    }

    /// <summary>Where a command's own data flags (--data, --validation-data) go into the options.</summary>
    protected virtual TrainingOptions WithData(TrainingOptions options) => options;
}
