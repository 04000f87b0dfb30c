using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Energy;
using GreenSeg.Evaluation;
using GreenSeg.Inference;
using GreenSeg.Review;
using GreenSeg.Training;

namespace GreenSeg.Pipelines;

/// <summary>What `greenseg e2mip` is asked to do.</summary>
public sealed record E2mipOptions
{
    /// <summary>The training slices: a folder holding images/ and masks/ (E2MIP's train_slice).</summary>
    public required string TrainFolder { get; init; }
    /// <summary>The test stacks: NIfTI files directly inside, or inside its images/ folder (E2MIP's test_volume).</summary>
    public required string TestFolder { get; init; }
    public required string OutputFolder { get; init; }
    /// <summary>Reference masks of the test stacks, matched by case name; null: no evaluation.</summary>
    public string? TruthFolder { get; init; }
    /// <summary>The recipe (green by default); its data and output fields are set by the pipeline.</summary>
    public TrainingOptions Training { get; init; } = new();
    /// <summary>How the test stacks are segmented (the inference defaults: bf16-pure, channels-last); device and threads follow <see cref="Training"/>.</summary>
    public SegmentOptions Segmentation { get; init; } = new();
    /// <summary>Write OUT/review.html with a mosaic of every test stack (and its reference outline when there is a truth folder).</summary>
    public bool Review { get; init; } = true;
}

/// <summary>Everything the pipeline will read and write, checked before any training starts.</summary>
public sealed record E2mipPlan(
    E2mipOptions Options,
    string OutputFolder,
    string RunFolder,
    TrainingOptions Training,
    int TrainingStacks,
    int TrainingSlices,
    SegmentationPlan Prediction,
    IReadOnlyList<DatasetProblem> DatasetProblems)
{
    public string PredictionFolder => Prediction.Output.Folder;
    public string SummaryPath => Path.Combine(OutputFolder, E2mipPipeline.SummaryFileName);
    public string EvaluationFolder => Path.Combine(OutputFolder, E2mipPipeline.EvaluationFolderName);
}

/// <summary>The outcome of the whole chain, as e2mip-summary.json records it.</summary>
public sealed record E2mipResult(E2mipPlan Plan, TrainingResult Training, BatchSegmentationResult Prediction, EvaluationReport? Evaluation,
    ReviewResult? Review)
{
    /// <summary>Inference energy: loading the model and segmenting every stack (reading and writing included).</summary>
    public double InferenceJoules => Prediction.ModelLoadEnergy.TotalJoules + Prediction.Total.TotalJoules;
    public TimeSpan InferenceTime => Prediction.ModelLoad + Prediction.Total.Duration;
    public bool InferenceEstimated => Prediction.ModelLoadEnergy.AnyEstimated || Prediction.Total.AnyEstimated;
    public double TotalKilojoules => Training.TotalEnergyKj + InferenceJoules / 1000;
    public bool TotalEstimated => Training.EnergyEstimated || InferenceEstimated;
    public TimeSpan TotalTime => Training.Duration + InferenceTime;
    public double? MeanDice => Evaluation?.Summary[CaseMetric.Dice].Mean;
    /// <summary>Mean test Dice per kJ of training plus inference: E2MIP's trade-off in one number.</summary>
    public double? DicePerKj => MeanDice is double dice && TotalKilojoules > 0 ? dice / TotalKilojoules : null;
}

/// <summary>
/// The E2MIP task-3 contract (fetal brain segmentation) in four stages, each callable on its own:
/// <see cref="Plan"/> (read both datasets, name every output, refuse what cannot work),
/// <see cref="Train"/> (the recipe on every labelled stack, a final run, into OUT/run), <see cref="Predict"/> (the model on every
/// test stack into OUT/test_volume_prediction/&lt;name&gt;_maskpred.nii.gz), <see cref="Evaluate"/>
/// (against the truth folder when there is one), <see cref="WriteReview"/> (OUT/review.html); <see cref="Summarize"/> writes OUT/e2mip-summary.json.
/// Training and inference energy are measured separately, as the challenge reports them.
/// </summary>
public static class E2mipPipeline
{
    public const string RunFolderName = "run";
    public const string EvaluationFolderName = "evaluation";
    public const string PredictionFolderName = "test_volume_prediction";
    public const string PredictionSuffix = "_maskpred";
    public const string SummaryFileName = "e2mip-summary.json";

    public static E2mipResult Run(E2mipOptions options, ITrainingObserver? observer = null, Action<StackOutcome>? onStack = null,
        CancellationToken cancellationToken = default)
    {
        var plan = Plan(options);
        var training = Train(plan, observer, cancellationToken);
        var prediction = Predict(plan, onStack, cancellationToken);
        var evaluation = Evaluate(plan, cancellationToken);
        var review = WriteReview(plan, prediction, evaluation);
        return Summarize(plan, training, prediction, evaluation, review);
    }

    public static E2mipPlan Plan(E2mipOptions options)
    {
        string output = Path.GetFullPath(options.OutputFolder);
        if (File.Exists(output)) throw new InvalidInputException(output, "is a file; the output must be a folder");
        string run = Path.Combine(output, RunFolderName);
        // Everything e2mip writes stays inside --out: a link in its place could lead anywhere.
        foreach (string inside in new[] { run, Path.Combine(output, PredictionFolderName), Path.Combine(output, EvaluationFolderName),
                     Path.Combine(output, ReviewWriter.PageFileName), Path.Combine(output, ReviewWriter.MosaicFolderName) })
            if (new DirectoryInfo(inside).LinkTarget is not null || new FileInfo(inside).LinkTarget is not null)
                throw new InvalidInputException(inside, "is a symbolic link; e2mip writes only inside --out and does not follow it: remove the link or choose a new --out");
        if (Directory.Exists(Path.Combine(run, "checkpoints")))
            throw new InvalidInputException(output, "already holds an e2mip run (run/checkpoints); choose a new --out");
        if (options.TruthFolder is { } truth && !Directory.Exists(truth))
            throw new InvalidInputException(Path.GetFullPath(truth), "truth folder not found");

        // Every labelled stack trains the model, on the schedule cross-validation chose: none is held out for selection.
        var training = options.Training with { Data = Path.GetFullPath(options.TrainFolder), Output = output, Final = true, Stacks = null };
        training.Validate();
        var trainingData = DatasetReader.Open(training.Data);
        if (trainingData.TrainingStacks.Count == 0)
            throw new InvalidInputException(training.Data, "holds no training slices with masks (expected images/ and masks/)");

        string testFolder = Path.GetFullPath(options.TestFolder);
        var test = DatasetReader.OpenE2mip(null, testFolder);
        if (test.TestVolumes.Count == 0)
            throw new InvalidInputException(testFolder, "holds no NIfTI stacks to predict (expected .nii/.nii.gz files directly inside or in images/)");

        var prediction = BatchSegmentation.Plan(test.TestVolumes.Select(v => v.ImagePath), new SegmentationOutput
        {
            Folder = Path.Combine(output, PredictionFolderName),
            Suffix = PredictionSuffix,
            ReportFolder = output,
        });
        return new E2mipPlan(options, output, run, training, trainingData.TrainingStacks.Count, trainingData.TrainingSliceCount,
            prediction, [.. trainingData.Problems, .. test.Problems]);
    }

    public static TrainingResult Train(E2mipPlan plan, ITrainingObserver? observer = null, CancellationToken cancellationToken = default) =>
        Trainer.Train(plan.Training, plan.RunFolder, observer, cancellationToken);

    /// <summary>Segments every test stack with the run's model (its last epoch).</summary>
    public static BatchSegmentationResult Predict(E2mipPlan plan, Action<StackOutcome>? onStack = null, CancellationToken cancellationToken = default)
    {
        var device = TorchRuntime.ResolveDevice(plan.Training.Compute.Device);
        var segmentation = plan.Options.Segmentation with { Device = plan.Training.Compute.Device, Threads = plan.Training.Compute.Threads };
        return BatchSegmentation.Run(plan.RunFolder, plan.Prediction, segmentation, plan.Training.ToEnergyOptions(device), onStack, cancellationToken);
    }

    /// <summary>Dice and the other metrics per stack against the truth folder (null without one); files in OUT/evaluation.</summary>
    public static EvaluationReport? Evaluate(E2mipPlan plan, CancellationToken cancellationToken = default)
    {
        if (plan.Options.TruthFolder is null) return null;
        var report = Evaluator.EvaluateFolders(plan.PredictionFolder, plan.Options.TruthFolder, cancellationToken: cancellationToken);
        EvaluationReportFiles.Write(report, plan.EvaluationFolder);
        return report;
    }

    /// <summary>OUT/review.html and OUT/review/: a mosaic per test stack with its flags (null when the options turn it off).</summary>
    public static ReviewResult? WriteReview(E2mipPlan plan, BatchSegmentationResult prediction, EvaluationReport? evaluation) =>
        plan.Options.Review ? ReviewWriter.Write(plan.OutputFolder, "GreenSeg e2mip review", ReviewSources.ForSegmentation(prediction, evaluation)) : null;

    public static E2mipResult Summarize(E2mipPlan plan, TrainingResult training, BatchSegmentationResult prediction, EvaluationReport? evaluation,
        ReviewResult? review = null)
    {
        var result = new E2mipResult(plan, training, prediction, evaluation, review);
        AtomicFile.WriteAllText(plan.SummaryPath, SummaryJson(result));
        return result;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public static string SummaryJson(E2mipResult result)
    {
        var plan = result.Plan;
        var diceByCase = result.Evaluation?.Cases.Where(c => c.Succeeded).ToDictionary(c => c.Name, c => c.Metrics!.Dice) ?? [];
        var document = new
        {
            TrainFolder = plan.Training.Data,
            TestFolder = Path.GetFullPath(plan.Options.TestFolder),
            Review = result.Review?.PagePath,
            TruthFolder = plan.Options.TruthFolder is null ? null : Path.GetFullPath(plan.Options.TruthFolder),
            plan.OutputFolder,
            plan.RunFolder,
            plan.PredictionFolder,
            Training = new
            {
                plan.Training.Model,
                plan.Training.Preprocessing.Size,
                plan.Training.Preprocessing.Spacing,
                Precision = ChoiceNames.Name(plan.Training.Compute.Precision),
                plan.Training.Compute.ChannelsLast,
                Optimizer = ChoiceNames.Name(plan.Training.Optimisation.Optimizer),
                plan.TrainingStacks,
                plan.TrainingSlices,
                result.Training.EpochsRun,
                result.Training.BestEpoch,
                // A final run validates nothing: no Dice rather than NaN, which JSON cannot hold.
                BestValidationDice = double.IsNaN(result.Training.BestValidationDice) ? (double?)null : result.Training.BestValidationDice,
                result.Training.StopReason,
                Seconds = result.Training.Duration.TotalSeconds,
                EnergyKj = result.Training.TotalEnergyKj,
                EnergyOrigin = result.Training.EnergyEstimated ? "estimated" : "measured",
                result.Training.Co2Grams,
            },
            Inference = new
            {
                Seconds = result.InferenceTime.TotalSeconds,
                EnergyKj = result.InferenceJoules / 1000,
                EnergyOrigin = result.InferenceEstimated ? "estimated" : "measured",
                ModelLoadSeconds = result.Prediction.ModelLoad.TotalSeconds,
                ModelLoadEnergyJ = result.Prediction.ModelLoadEnergy.TotalJoules,
                result.Prediction.Slices,
                Stacks = result.Prediction.Stacks.Select(s => new
                {
                    s.Job.Name,
                    Prediction = s.Succeeded ? Path.GetFileName(s.Job.MaskPath) : null,
                    s.Slices,
                    Seconds = s.Elapsed.TotalSeconds,
                    EnergyJ = s.Energy.TotalJoules,
                    EnergyOrigin = s.Energy.OriginLabel,
                    Dice = diceByCase.TryGetValue(s.Job.Name, out double dice) ? dice : (double?)null,
                    s.Error,
                }),
                Report = result.Prediction.ReportPath,
            },
            Evaluation = result.Evaluation is null ? null : new
            {
                Cases = result.Evaluation.Summary.Cases,
                MeanDice = result.MeanDice,
                MedianDice = result.Evaluation.Summary[CaseMetric.Dice].Median,
                DiceSd = result.Evaluation.Summary[CaseMetric.Dice].StandardDeviation,
                MeanHd95Mm = result.Evaluation.Summary[CaseMetric.Hd95Mm].Mean,
                result.Evaluation.UnmatchedPredictions,
                result.Evaluation.UnmatchedTruths,
                Failed = result.Evaluation.Failed.Select(f => new { Case = f.Name, f.Error }),
                Folder = plan.EvaluationFolder,
            },
            TotalSeconds = result.TotalTime.TotalSeconds,
            TotalEnergyKj = result.TotalKilojoules,
            TotalEnergyOrigin = result.TotalEstimated ? "estimated" : "measured",
            DicePerKj = result.DicePerKj,
            Failures = result.Prediction.Failures.Select(f => new { f.Path, f.Problem }),
            DatasetProblems = plan.DatasetProblems.Select(p => new { p.Path, p.Problem }),
        };
        return JsonSerializer.Serialize(document, JsonOptions) + Environment.NewLine;
    }
}
