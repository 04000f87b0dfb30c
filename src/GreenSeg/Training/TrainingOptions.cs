using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training.Optimizers;
using GreenSeg.Training.Schedules;
using GreenSeg.Transforms;

namespace GreenSeg.Training;

/// <summary>How an epoch draws its slices (the config's <c>loading: balance:</c>).</summary>
public enum BalanceMode
{
    /// <summary>Every slice once per epoch.</summary>
    [EnumMember(Value = "none")] None,
    /// <summary>Slices drawn with replacement so that each stack gets an equal share of an epoch.</summary>
    [EnumMember(Value = "stack")] Stack,
    /// <summary>Slices drawn with replacement so that each sequence (T2W, DWI, ...) gets an equal share of an epoch.</summary>
    [EnumMember(Value = "sequence")] Sequence,
}

/// <summary>What the best epoch is chosen by (the config's <c>stopping: select-best-by:</c>).</summary>
public enum SelectionMetric
{
    /// <summary>The highest mean validation Dice per stack.</summary>
    [EnumMember(Value = "dice")] Dice,
    /// <summary>The lowest validation loss.</summary>
    [EnumMember(Value = "loss")] Loss,
}

/// <summary>
/// Everything that decides a training run: what to train on and which network (top-level keys), and one typed
/// section per concern (<see cref="Preprocessing"/>, <see cref="Loading"/>, <see cref="Compute"/>,
/// <see cref="Optimisation"/>, <see cref="Schedule"/>, <see cref="Stopping"/>, <see cref="Postprocessing"/>, <see cref="Energy"/>), each a
/// section of the YAML config. The defaults are the recipe cross-validation by stack chose (README,
/// "Cross-validation"): U-Net of width 16 at 128x128 and 2 mm, Adam 1e-3 with plateau, 25 epochs, memory cache,
/// prefetch, bf16-mixed where it runs in hardware, channels-last. The study's recipes are <see cref="StudyGreen"/>
/// and <see cref="Baseline"/>. The resolved options are saved in the run folder as config.yaml, so a run can be
/// repeated exactly (<c>greenseg train --config run/config.yaml</c>) or resumed; configs written flat, before the
/// sections, still load (<see cref="Parse"/>).
/// </summary>
public sealed partial record TrainingOptions
{
    public string Data { get; init; } = "";
    /// <summary>An explicit validation dataset; when null, stacks of <see cref="Data"/> are held out.</summary>
    public string? ValidationData { get; init; }
    public double ValidationFraction { get; init; } = 0.2;
    /// <summary>
    /// Train on every stack (no stack held out): a schedule fixed beforehand (<see cref="ScheduleSection.Epochs"/>, chosen by
    /// cross-validation), and the last epoch's weights are the model. <see cref="ValidationData"/>, when given,
    /// is still scored each epoch, for the log only.
    /// </summary>
    public bool Final { get; init; }
    /// <summary>Train only on these stacks of <see cref="Data"/> (ids as <c>greenseg data inspect</c> lists them); null: all.</summary>
    public List<string>? Stacks { get; init; }
    public int Seed { get; init; } = 42;
    /// <summary>Seed of the by-stack validation split; null uses <see cref="Seed"/>. A study fixes it so runs with other seeds share one split.</summary>
    public int? SplitSeed { get; init; }
    /// <summary>A name of the model registry (<c>greenseg models list</c>).</summary>
    public string Model { get; init; } = "unet";
    public int? ModelWidth { get; init; } = 16;
    /// <summary>
    /// A U-Net's full-resolution stage narrower (or wider) than <see cref="ModelWidth"/> (<see cref="ModelOptions.FirstStageWidth"/>);
    /// null: the model width. Recorded in the checkpoint's model.json.
    /// </summary>
    public int? FirstStageWidth { get; init; }
    /// <summary>Where run folders go when none is named.</summary>
    public string Output { get; init; } = "runs";
    /// <summary>
    /// The shape of a fire-module network (the config's <c>fire-net:</c> section: stages, fires-per-stage, squeeze-ratio), for
    /// architecture search; every key left empty keeps the network's own design. Recorded in the checkpoint's model.json.
    /// </summary>
    public FireNetShape FireNet { get; init; } = new();

    public PreprocessingSection Preprocessing { get; init; } = new();
    public LoadingSection Loading { get; init; } = new();
    public ComputeSection Compute { get; init; } = new();
    public OptimisationSection Optimisation { get; init; } = new();
    public ScheduleSection Schedule { get; init; } = new();
    public StoppingSection Stopping { get; init; } = new();
    public PostprocessingSection Postprocessing { get; init; } = new();
    public DistillationSection Distillation { get; init; } = new();
    public ParallelSection Parallel { get; init; } = new();
    /// <summary>Energy and carbon accounting: the type every energy-accounting command shares.</summary>
    public Energy.EnergyOptions Energy { get; init; } = new();

    /// <summary>
    /// The study's green recipe, GreenSeg's default before cross-validation chose today's: the light
    /// att-squeeze-unet at 256x256 and 1 mm, Novograd with the LR finder, 40 epochs (a study's <c>base: green</c>).
    /// </summary>
    public static TrainingOptions StudyGreen(string data) => new()
    {
        Data = data,
        Model = "att-squeeze-unet",
        ModelWidth = null,
        // The study's recipes are the paper's: z-score normalisation, the last step's weights, no moving average.
        Preprocessing = new() { Size = 256, Spacing = 1.0, Normalization = IntensityNormalization.ZScoreNonzero },
        Optimisation = new() { Optimizer = OptimizerKind.Novograd, LearningRate = "auto", EmaDecay = 0 },
        Schedule = new() { Epochs = 40 },
    };

    /// <summary>The study's baseline: U-Net with 64 features, fp32 NCHW, no cache, no prefetch, Adam, fixed LR, no weight averaging.</summary>
    public static TrainingOptions Baseline(string data) => new()
    {
        Data = data,
        Model = "unet",
        ModelWidth = 64,
        Compute = new() { Precision = PrecisionChoice.Fp32, ChannelsLast = false },
        Preprocessing = new() { Normalization = IntensityNormalization.ZScoreNonzero },
        Loading = new() { Cache = GreenSeg.Data.CacheMode.None, Prefetch = 0 },
        Optimisation = new() { Optimizer = OptimizerKind.Adam, LearningRate = "1e-4", EmaDecay = 0 },
        Schedule = new() { LrPolicy = LrPolicyKind.Fixed },
    };

    /// <summary>The energy section, with the GPU this run's device is (when it is one).</summary>
    public Energy.EnergyOptions ToEnergyOptions(TorchSharp.torch.Device device) => Energy with
    {
        GpuIndices = device.type == TorchSharp.DeviceType.CUDA ? [Math.Max(0, (int)device.index)] : [],
    };

    /// <summary>The network these options build (fresh weights from torch's global generator unless a seed is added).</summary>
    public ModelOptions ModelOptions() => new() { BaseFeatures = ModelWidth, FirstStageWidth = FirstStageWidth, FireNet = FireNet };

    /// <summary>Throws a <see cref="GreenSegException"/> naming the first option that cannot work (by its config key).</summary>
    public TrainingOptions Validate()
    {
        // YAML can set any of them to null ("model: null", or "model:" with nothing after it), a section too.
        OptionCheck.HasValue("data", Data);
        OptionCheck.HasValue("model", Model);
        OptionCheck.HasValue("output", Output);
        OptionCheck.NotEmpty("fire-net", FireNet, "stages: 3");
        OptionCheck.NotEmpty("preprocessing", Preprocessing, "size: 128");
        OptionCheck.NotEmpty("loading", Loading, "cache: memory");
        OptionCheck.NotEmpty("compute", Compute, "precision: fp32");
        OptionCheck.NotEmpty("optimisation", Optimisation, "learning-rate: 1e-3");
        OptionCheck.NotEmpty("schedule", Schedule, "epochs: 25");
        OptionCheck.NotEmpty("stopping", Stopping, "early-stopping-patience: 10");
        OptionCheck.NotEmpty("postprocessing", Postprocessing, "components: large");
        OptionCheck.NotEmpty("distillation", Distillation, "distill-from: runs/teacher");
        OptionCheck.NotEmpty("parallel", Parallel, "distributed: mpi");
        OptionCheck.NotEmpty("energy", Energy, "country: POL");
        if (string.IsNullOrWhiteSpace(Data)) throw new GreenSegException("no training data: give --data PATH (or data: in the config)");
        if (ValidationData is null && !Final && !(ValidationFraction > 0 && ValidationFraction < 1))
            throw new GreenSegException($"validation-fraction must lie in (0, 1), got {ValidationFraction}");
        if (Final && Stopping.GreenStopDicePerKj is not null && ValidationData is null)
            throw new GreenSegException("green-stop-dice-per-kj needs validation Dice, which a final run (no held-out stack) does not have");
        OptionCheck.Require(ModelWidth is null or (>= 1 and <= ModelLimits.MaxModelWidth), "model-width", $"must lie in 1..{ModelLimits.MaxModelWidth}", ModelWidth);
        OptionCheck.Require(FirstStageWidth is null or (>= 1 and <= ModelLimits.MaxModelWidth), "first-stage-width", $"must lie in 1..{ModelLimits.MaxModelWidth}", FirstStageWidth);
        FireNet.Validate();
        // An unknown model is named when the run builds it; a shape the known one cannot take is named here.
        if (ModelRegistry.TryDescribe(Model) is not null && ModelRegistry.ShapeProblem(Model, FireNet) is { } shape) throw new GreenSegException(shape);
        if (ModelRegistry.TryDescribe(Model) is not null && ModelRegistry.FirstStageWidthProblem(Model, FirstStageWidth) is { } firstStage) throw new GreenSegException(firstStage);
        Preprocessing.Validate();
        if (FireNet.Stages is int stages && Preprocessing.Size % (1 << stages) != 0)
            throw new GreenSegException($"fire-net stages {stages} halve the input {stages} times: size must be a multiple of {1 << stages}, got {Preprocessing.Size}");
        Loading.Validate();
        Compute.Validate();
        Optimisation.Validate();
        Schedule.Validate();
        Stopping.Validate();
        Postprocessing.Validate();
        Distillation.Validate();
        Parallel.Validate();
        Energy.Validate();
        return this;
    }
}
