using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training.Optimizers;
using TorchSharp.Modules;

namespace GreenSeg.Training;

/// <summary>
/// Everything a run leaves in its folder: the log (also told to the observer), metrics.csv and the learning curve,
/// the best and last checkpoints (weights, manifest, optimizer, resume state) and summary.json. In a data-parallel run
/// only rank 0's recorder writes (<paramref name="writes"/>); the others keep the rows and say nothing.
/// </summary>
public sealed class RunRecorder(RunFolder run, TrainingOptions options, ITrainingObserver observer, bool writes = true)
{
    private readonly List<EpochMetrics> _rows = [];

    public RunFolder Run { get; } = run;
    public ITrainingObserver Observer { get; } = observer;
    public IReadOnlyList<EpochMetrics> Rows => _rows;

    /// <summary>False on a data-parallel run's ranks other than 0: they write nothing.</summary>
    public bool Writes { get; } = writes;

    public void Say(string line)
    {
        if (!Writes) return;
        Run.Log(line);
        Observer.Message(line);
    }

    /// <summary>On resume: the rows of the epochs the checkpoint holds (a later row was written by a process killed before its checkpoint).</summary>
    public void RestoreRows(int epochsDone) => _rows.AddRange(MetricsFile.Read(Run.MetricsPath).Where(r => r.Epoch < epochsDone));

    /// <summary>Adds an epoch's row, rewrites metrics.csv and the learning curve.</summary>
    public void Record(EpochMetrics row)
    {
        _rows.Add(row);
        if (!Writes) return;
        MetricsFile.Write(Run.MetricsPath, _rows);
        MetricsFile.PlotLearningCurve(Run.LearningCurvePath, _rows, $"{options.Model}: {Path.GetFileName(Run.Path)}");
    }

    public void SaveBest(SegmentationModel model, int epoch, double dice)
    {
        if (Writes) Run.SaveCheckpoint("best", folder => SaveModel(model, folder, epoch, dice));
    }

    /// <summary>The last checkpoint's file of the weight average (<see cref="WeightAverage"/>), beside the trained weights a resume continues from.</summary>
    public const string AveragedWeightsFileName = "averaged.pt";

    /// <summary>The checkpoint a resume starts from: weights, manifest, optimizer state, the weight average if any, and the resume state.</summary>
    public void SaveLast(SegmentationModel model, OptimizerHelper optimizer, int epoch, double dice, ResumeState state, SegmentationModel? averaged = null)
    {
        if (!Writes) return;
        Run.SaveCheckpoint("last", folder =>
        {
            SaveModel(model, folder, epoch, dice);
            if (averaged is not null) ModelWeights.Save(averaged, Path.Combine(folder, AveragedWeightsFileName));
            optimizer.save_state_dict(Path.Combine(folder, "optimizer.pt"));
            RunFolder.WriteState(folder, state);
        });
    }

    /// <summary>This process's row is in emissions.csv: a later resume (after a cancel) must not report its energy again.</summary>
    public void MarkEnergyReported()
    {
        if (Writes && Run.FindCheckpoint("last") is { } last && RunFolder.ReadState(last) is { UnreportedEnergy: not null } written)
            RunFolder.WriteState(last, written with { UnreportedEnergy = null });
    }

    public void WriteSummary(TrainingResult result)
    {
        if (Writes) AtomicFile.WriteAllText(Run.SummaryPath, JsonSerializer.Serialize(result, RunFolder.JsonOptions));
    }

    private void SaveModel(SegmentationModel model, string folder, int epoch, double dice)
    {
        ModelWeights.Save(model, Path.Combine(folder, CheckpointManifest.WeightsFileName));
        (ManifestFor(options, epoch, dice) with { InternalWidths = model.InternalWidths }).Save(folder);
    }

    /// <summary>The manifest of a model trained with these options, saved at this epoch with this validation Dice.</summary>
    public static CheckpointManifest ManifestFor(TrainingOptions options, int epoch, double dice) => new()
    {
        Model = options.Model,
        ModelWidth = options.ModelWidth,
        FirstStageWidth = options.FirstStageWidth,
        FireNet = options.FireNet.IsDefault() ? null : options.FireNet,
        Spacing = options.Preprocessing.Spacing,
        Size = options.Preprocessing.Size,
        Normalization = options.Preprocessing.Normalization,
        Epoch = epoch,
        ValidationDice = dice,
        TrainedWith = $"{ChoiceNames.Name(options.Optimisation.Optimizer)}, {PrecisionOption.Name(PrecisionOption.Resolve(options.Compute.Precision, TorchRuntime.ResolveDevice(options.Compute.Device)))}{(options.Compute.ChannelsLast ? ", channels-last" : "")}" +
            (options.Optimisation.EmaDecay > 0 ? FormattableString.Invariant($", weights averaged (EMA {options.Optimisation.EmaDecay})") : ""),
        CanonicalOrientation = options.Preprocessing.CanonicalOrientation,
        MultiPlanar = options.Loading.MultiPlanar,
        PostProcessing = options.Postprocessing.ToPostProcessingOptions(),
        PreprocessingVersion = Transforms.PreprocessingOptions.Version,
    };
}
