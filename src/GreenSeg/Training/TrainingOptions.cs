using System.Globalization;
using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Schedules;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace GreenSeg.Training;

/// <summary>How an epoch draws its slices (the config's <c>balance:</c>).</summary>
public enum BalanceMode
{
    /// <summary>Every slice once per epoch.</summary>
    [EnumMember(Value = "none")] None,
    /// <summary>Slices drawn with replacement so that each stack gets an equal share of an epoch.</summary>
    [EnumMember(Value = "stack")] Stack,
    /// <summary>Slices drawn with replacement so that each sequence (T2W, DWI, ...) gets an equal share of an epoch.</summary>
    [EnumMember(Value = "sequence")] Sequence,
}

/// <summary>What the best epoch is chosen by (the config's <c>select-best-by:</c>).</summary>
public enum SelectionMetric
{
    /// <summary>The highest mean validation Dice per stack.</summary>
    [EnumMember(Value = "dice")] Dice,
    /// <summary>The lowest validation loss.</summary>
    [EnumMember(Value = "loss")] Loss,
}

/// <summary>
/// Everything that decides a training run. The defaults are the recipe cross-validation by stack chose
/// (README, "Cross-validation"): U-Net of width 16 at 128x128 and 2 mm, Adam 1e-3 with plateau, 25 epochs,
/// memory cache, prefetch, bf16-mixed where it runs in hardware, channels-last. The study's recipes are
/// <see cref="StudyGreen"/> and <see cref="Baseline"/>. The resolved options are saved in the run folder as config.yaml, so a run
/// can be repeated exactly (<c>greenseg train --config run/config.yaml</c>) or resumed.
/// </summary>
public sealed partial record TrainingOptions
{
    // Data
    public string Data { get; init; } = "";
    /// <summary>An explicit validation dataset; when null, stacks of <see cref="Data"/> are held out.</summary>
    public string? ValidationData { get; init; }
    public double ValidationFraction { get; init; } = 0.2;
    /// <summary>
    /// Train on every stack (no stack held out): a schedule fixed beforehand (<see cref="Epochs"/>, chosen by
    /// cross-validation), and the last epoch's weights are the model. <see cref="ValidationData"/>, when given,
    /// is still scored each epoch, for the log only.
    /// </summary>
    public bool Final { get; init; }
    /// <summary>Train only on these stacks of <see cref="Data"/> (ids as <c>greenseg data inspect</c> lists them); null: all.</summary>
    public List<string>? Stacks { get; init; }
    public int Seed { get; init; } = 42;
    /// <summary>Seed of the by-stack validation split; null uses <see cref="Seed"/>. A study fixes it so runs with other seeds share one split.</summary>
    public int? SplitSeed { get; init; }
    public double Spacing { get; init; } = 2.0;
    public int Size { get; init; } = 128;
    /// <summary>How each slice's intensities are normalised (z-score over nonzero voxels, or percentile scaling).</summary>
    public Transforms.IntensityNormalization Normalization { get; init; } = Transforms.IntensityNormalization.ZScoreNonzero;
    public GreenSeg.Data.CacheMode Cache { get; init; } = GreenSeg.Data.CacheMode.Memory;
    public string? CacheDir { get; init; }
    /// <summary>Batches prepared ahead in the background; 0 turns prefetch off.</summary>
    public int Prefetch { get; init; } = 2;
    public bool Augment { get; init; } = true;
    /// <summary>Every slice once per epoch, or slices drawn so that each stack or sequence gets an equal share of an epoch.</summary>
    public BalanceMode Balance { get; init; } = BalanceMode.None;
    /// <summary>What augmentation draws when <see cref="Augment"/> is on (the config's <c>augmentation:</c> section).</summary>
    public Transforms.AugmentationOptions Augmentation { get; init; } = new();
    /// <summary>Turn every slice to one canonical in-plane orientation from its image's affine (<see cref="Transforms.InPlaneOrientation"/>); segment then does the same.</summary>
    public bool CanonicalOrientation { get; init; }
    /// <summary>
    /// Multi-planar slices: cut planes across each training stack's two other axes added per stored slice
    /// (<see cref="Data.MultiPlanarCuts"/>); 0 = stored slices only, 1 = as many cut planes as stored slices.
    /// </summary>
    public double MultiPlanar { get; init; }

    // Model and compute
    public string Model { get; init; } = "unet";
    public int? ModelWidth { get; init; } = 16;
    public string Precision { get; init; } = PrecisionOption.Auto;
    public bool ChannelsLast { get; init; } = true;
    public int Threads { get; init; }
    public string Device { get; init; } = "cpu";

    // Optimisation
    public string Loss { get; init; } = "dice-bce";
    public string Optimizer { get; init; } = "adam";
    /// <summary>A number, or "auto" to run the LR finder first.</summary>
    public string LearningRate { get; init; } = "1e-3";
    public string LrPolicy { get; init; } = "plateau";
    /// <summary>The policies' own settings (the config's <c>lr-schedule:</c> section: plateau-factor, plateau-patience, min-learning-rate, one-cycle-…).</summary>
    public LrPolicySettings LrSchedule { get; init; } = new();
    /// <summary>The losses' own settings (the config's <c>loss-settings:</c> section: dice-smooth, dice-per-sample, dice-weight, bce-weight, focal-…).</summary>
    public LossSettings LossSettings { get; init; } = new();
    public double WeightDecay { get; init; }
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; }
    public bool GradAveraging { get; init; }
    public bool AmsGrad { get; init; }
    /// <summary>Max gradient norm; 0 turns clipping off.</summary>
    public double GradClip { get; init; }
    /// <summary>A number, or "auto" to pick the batch size with the best throughput that fits <see cref="MemoryLimitMb"/>.</summary>
    public string BatchSize { get; init; } = "8";
    public int MemoryLimitMb { get; init; } = 8192;
    public int Epochs { get; init; } = 25;
    public int LrFinderSteps { get; init; } = 60;
    /// <summary>The rates the LR finder sweeps between (exponentially).</summary>
    public double LrFinderMinLr { get; init; } = 1e-5;
    public double LrFinderMaxLr { get; init; } = 1;

    // Stopping and selection
    public int EarlyStoppingPatience { get; init; } = 10;
    public double EarlyStoppingMinDelta { get; init; }
    public SelectionMetric SelectBestBy { get; init; } = SelectionMetric.Dice;
    /// <summary>Whether the best epoch has the highest validation Dice (else the lowest validation loss).</summary>
    [YamlIgnore] public bool SelectsByDice => SelectBestBy == SelectionMetric.Dice;
    /// <summary>
    /// Score validation stacks after `greenseg segment`'s post-processing (largest 3D component, holes
    /// filled per slice), so the selected checkpoint is the best at what users get; the raw Dice is kept too.
    /// </summary>
    public bool PostprocessValidation { get; init; } = true;
    /// <summary>e.g. "50kJ"; training stops when this much energy is spent (the best checkpoint is kept).</summary>
    public string? EnergyBudget { get; init; }
    /// <summary>Stop when validation Dice gained per kJ over <see cref="GreenStopWindow"/> epochs falls below this.</summary>
    public double? GreenStopDicePerKj { get; init; }
    public int GreenStopWindow { get; init; } = 3;

    // Energy accounting
    public double? CpuTdp { get; init; }
    /// <summary>ISO 3166 alpha-3 code of the grid (the study's: POL); null means the world average.</summary>
    public string? Country { get; init; }
    public double? CarbonIntensity { get; init; }
    public double Pue { get; init; } = 1.0;

    public string Output { get; init; } = "runs";

    /// <summary>
    /// The study's green recipe, GreenSeg's default before cross-validation chose today's: the light
    /// att-squeeze-unet at 256x256 and 1 mm, Novograd with the LR finder, 40 epochs (a study's <c>base: green</c>).
    /// </summary>
    public static TrainingOptions StudyGreen(string data) => new()
    {
        Data = data,
        Model = "att-squeeze-unet",
        ModelWidth = null,
        Size = 256,
        Spacing = 1.0,
        Optimizer = "novograd",
        LearningRate = "auto",
        Epochs = 40,
    };

    /// <summary>The study's baseline: U-Net with 64 features, fp32 NCHW, no cache, no prefetch, Adam, fixed LR.</summary>
    public static TrainingOptions Baseline(string data) => new()
    {
        Data = data,
        Model = "unet",
        ModelWidth = 64,
        Precision = "fp32",
        ChannelsLast = false,
        Cache = GreenSeg.Data.CacheMode.None,
        Prefetch = 0,
        Optimizer = "adam",
        LearningRate = "1e-4",
        LrPolicy = "fixed",
    };

    public Energy.EnergyOptions ToEnergyOptions(TorchSharp.torch.Device device) => new()
    {
        CpuTdpWatts = CpuTdp,
        Country = Country,
        CarbonIntensity = CarbonIntensity,
        Pue = Pue,
        GpuIndices = device.type == TorchSharp.DeviceType.CUDA ? [Math.Max(0, (int)device.index)] : [],
    };

    [YamlIgnore] public bool LearningRateIsAuto => LearningRate.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);
    [YamlIgnore] public bool BatchSizeIsAuto => BatchSize.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);

    [YamlIgnore] public double FixedLearningRate => ParsePositive(LearningRate, "learning-rate");
    [YamlIgnore] public int FixedBatchSize => (int)ParsePositive(BatchSize, "batch-size");

    /// <summary>How slices are brought to the network's grid in this run (and, through the checkpoint, at inference).</summary>
    public Transforms.PreprocessingOptions Preprocessing() => new()
    {
        TargetSpacing = Spacing,
        TargetWidth = Size,
        TargetHeight = Size,
        Normalization = Normalization,
        CanonicalOrientation = CanonicalOrientation,
    };

    public const int MinSize = Models.ModelLimits.MinSize, MaxSize = Models.ModelLimits.MaxSize, MaxModelWidth = Models.ModelLimits.MaxModelWidth;
    public const double MinSpacingMm = Models.ModelLimits.MinSpacingMm, MaxSpacingMm = Models.ModelLimits.MaxSpacingMm;

    private static void Require(bool condition, string option, string rule, object? value)
    {
        if (!condition) throw new GreenSegException($"{option} {rule}, got {Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)}");
    }

    /// <summary>Throws a <see cref="GreenSegException"/> naming the first option that cannot work.</summary>
    public TrainingOptions Validate()
    {
        // YAML can set any of them to null ("model: null", or "model:" with nothing after it).
        foreach ((string option, string? value) in new[]
        {
            ("data", Data), ("model", Model), ("precision", Precision), ("device", Device),
            ("loss", Loss), ("optimizer", Optimizer), ("learning-rate", LearningRate), ("lr-policy", LrPolicy), ("batch-size", BatchSize),
            ("output", Output),
        })
            if (value is null) throw new GreenSegException($"{option} has no value; give one or remove the key");
        if (string.IsNullOrWhiteSpace(Data)) throw new GreenSegException("no training data: give --data PATH (or data: in the config)");
        if (ValidationData is null && !Final && !(ValidationFraction > 0 && ValidationFraction < 1))
            throw new GreenSegException($"validation-fraction must lie in (0, 1), got {ValidationFraction}");
        if (Final && GreenStopDicePerKj is not null && ValidationData is null)
            throw new GreenSegException("green-stop-dice-per-kj needs validation Dice, which a final run (no held-out stack) does not have");
        if (Epochs < 1) throw new GreenSegException($"epochs must be at least 1, got {Epochs}");
        Require(Size is >= MinSize and <= MaxSize, "size", $"must lie in {MinSize}..{MaxSize} pixels", Size);
        Require(Spacing is >= MinSpacingMm and <= MaxSpacingMm, "spacing", $"must lie in {MinSpacingMm}..{MaxSpacingMm} mm", Spacing);
        Require(ModelWidth is null or (>= 1 and <= MaxModelWidth), "model-width", $"must lie in 1..{MaxModelWidth}", ModelWidth);
        Require(EarlyStoppingPatience >= 1, "early-stopping-patience", "must be at least 1", EarlyStoppingPatience);
        Require(EarlyStoppingMinDelta >= 0 && double.IsFinite(EarlyStoppingMinDelta), "early-stopping-min-delta", "must be a finite number >= 0", EarlyStoppingMinDelta);
        Require(GreenStopDicePerKj is null || (GreenStopDicePerKj >= 0 && double.IsFinite(GreenStopDicePerKj.Value)), "green-stop-dice-per-kj", "must be a finite number >= 0", GreenStopDicePerKj);
        Require(GreenStopWindow >= 1, "green-stop-window", "must be at least 1", GreenStopWindow);
        Require(LrFinderSteps >= 2, "lr-finder-steps", "must be at least 2", LrFinderSteps);
        Require(GradClip >= 0 && double.IsFinite(GradClip), "grad-clip", "must be a finite number >= 0 (0: off)", GradClip);
        Require(Momentum >= 0 && Momentum < 1, "momentum", "must lie in [0, 1)", Momentum);
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), "weight-decay", "must be a finite number >= 0", WeightDecay);
        Require(MemoryLimitMb >= 1, "memory-limit-mb", "must be at least 1", MemoryLimitMb);
        Require(Pue >= 1 && double.IsFinite(Pue), "pue", "must be a finite number >= 1", Pue);
        if (!LearningRateIsAuto) _ = FixedLearningRate;
        if (!BatchSizeIsAuto) _ = FixedBatchSize;
        if (!Enum.IsDefined(SelectBestBy)) throw new GreenSegException($"select-best-by must be dice or loss, got '{SelectBestBy}'");
        if (!Enum.IsDefined(Balance)) throw new GreenSegException($"balance must be none, stack or sequence, got '{Balance}'");
        if (!Enum.IsDefined(Cache)) throw new GreenSegException($"cache must be none, memory or disk, got '{Cache}'");
        if (Normalization is not (Transforms.IntensityNormalization.ZScoreNonzero or Transforms.IntensityNormalization.Percentile))
            throw new GreenSegException($"normalization must be ZScoreNonzero or Percentile, got '{Normalization}'");
        if (Prefetch < 0) throw new GreenSegException($"prefetch must be >= 0, got {Prefetch}");
        TorchRuntime.ValidateThreads(Threads);
        if (!(MultiPlanar >= 0) || !double.IsFinite(MultiPlanar)) throw new GreenSegException($"multi-planar must be a number >= 0 (cut planes per stored slice), got {MultiPlanar}");
        if (LrSchedule is null) throw new GreenSegException("lr-schedule: the section is empty; give keys under it (e.g. plateau-patience: 3) or remove it");
        if (LossSettings is null) throw new GreenSegException("loss-settings: the section is empty; give keys under it (e.g. dice-smooth: 1) or remove it");
        Section("lr-schedule", () => LrSchedule.Validate());
        Section("loss-settings", () => LossSettings.Validate());
        Require(LrFinderMinLr > 0 && LrFinderMinLr < LrFinderMaxLr && double.IsFinite(LrFinderMaxLr), "lr-finder-min-lr", "must be positive and below lr-finder-max-lr", LrFinderMinLr);
        // YAML can null the section ("augmentation:" with nothing under it).
        if (Augmentation is null) throw new GreenSegException("augmentation: the section is empty; give keys under it (e.g. shift-probability: 0.5) or remove it");
        Section("augmentation", () => Augmentation.Validate());
        return this;
    }

    /// <summary>Validates a section; a bad value is reported by the config's key (e.g. "augmentation gamma-probability").</summary>
    private static void Section(string name, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new GreenSegException($"{name} {HyphenatedNamingConvention.Instance.Apply(e.ParamName ?? "")}: {e.Message.Split(" (Parameter")[0]}");
        }
    }

    private static double ParsePositive(string text, string option)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0 && double.IsFinite(value))
            return value;
        throw new GreenSegException($"{option} '{text}': expected a positive number or auto");
    }

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(HyphenatedNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.Preserve)
        .Build();

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(HyphenatedNamingConvention.Instance)
        .Build();

    public string ToYaml() => Serializer.Serialize(this);

    public void Save(string path) => AtomicFile.WriteAllText(path, ToYaml());

    /// <summary>Reads a YAML config; keys are the hyphenated option names (e.g. <c>learning-rate: auto</c>).</summary>
    public static TrainingOptions Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "config file not found");
        RegularFile.Require(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Reads options from YAML text; <paramref name="source"/> names it in errors.</summary>
    public static TrainingOptions Parse(string yaml, string source)
    {
        try
        {
            return Deserializer.Deserialize<TrainingOptions>(yaml) ?? new TrainingOptions();
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            string[] lines = yaml.Split('\n');
            string at = e.Start.Line >= 1 && e.Start.Line <= lines.Length ? $" ('{lines[e.Start.Line - 1].Trim()}')" : "";
            throw new InvalidInputException(source, $"invalid config at line {e.Start.Line}{at}: {Explain(e)}", e);
        }
    }

    /// <summary>What a YAML error means in the config's own words, without .NET type names.</summary>
    private static string Explain(YamlDotNet.Core.YamlException e) => e.InnerException switch
    {
        FormatException or OverflowException => "the value is not a number of the kind this option takes, or is out of its range",
        ArgumentException { Message: var m } when m.StartsWith("Requested value", StringComparison.Ordinal) =>
            "the value is not one of the names this option accepts (greenseg train --help lists them)",
        _ when e.Message.Contains("not found on type", StringComparison.Ordinal) => "unknown option (keys are the long option names, e.g. learning-rate)",
        _ => TypeName().Replace(e.InnerException?.Message ?? e.Message, "a value"),
    };

    [System.Text.RegularExpressions.GeneratedRegex(@"'?(System|GreenSeg)\.[A-Za-z0-9_.`\[\]]+'?")]
    private static partial System.Text.RegularExpressions.Regex TypeName();
}
