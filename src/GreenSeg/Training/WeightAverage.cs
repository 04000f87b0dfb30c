using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <summary>
/// An exponential moving average of a training model's weights and BatchNorm statistics, kept in a second model of the
/// same architecture: after every optimizer step, average = d·average + (1 - d)·weights, with d = min(decay, (1 + n) / (10 + n))
/// after n updates, so the first steps' random weights fade quickly. With a fixed schedule the last epoch's weights are
/// one noisy point of the optimizer's path (a final run's plateau policy, listening to the training loss, rarely lowers the
/// rate); their average is a smoother model, at the cost of one multiply-add per weight and step. Integer buffers (BatchNorm's
/// batch counters) are copied.
/// </summary>
public sealed class WeightAverage : ITrainingHook, IDisposable
{
    private readonly (Tensor Average, Tensor Live)[] _floating;
    private readonly (Tensor Average, Tensor Live)[] _counters;

    /// <summary>The averaged model, in evaluation mode: what validation scores and the best checkpoint holds.</summary>
    public SegmentationModel Model { get; }
    public double Decay { get; }
    /// <summary>Optimizer steps averaged so far.</summary>
    public long Updates { get; private set; }

    /// <param name="live">The model being trained.</param>
    /// <param name="averaged">A model of the same architecture, on the same device and in the same compute mode; this object owns it.</param>
    /// <param name="decay">The largest weight of the average so far, in (0, 1).</param>
    public WeightAverage(SegmentationModel live, SegmentationModel averaged, double decay)
    {
        var liveState = live.state_dict();
        var averageState = averaged.state_dict();
        Exception? refused = !(decay is > 0 and < 1) ? new ArgumentOutOfRangeException(nameof(decay), decay, "decay must lie in (0, 1)")
            : !liveState.Keys.Order().SequenceEqual(averageState.Keys.Order()) ? new ArgumentException("the averaged model's weights are not the trained model's", nameof(averaged))
            : null;
        if (refused is not null)
        {
            averaged.Dispose();
            throw refused;
        }
        Decay = decay;
        Model = averaged;
        var pairs = liveState.Select(entry => (Average: averageState[entry.Key], Live: entry.Value)).ToList();
        _floating = pairs.Where(p => p.Live.is_floating_point()).ToArray();
        _counters = pairs.Where(p => !p.Live.is_floating_point()).ToArray();
        CopyLive();
        averaged.eval();
    }

    /// <summary>The average starts from the weights training starts from, as a hook before it (pruning's) left them; a resumed average is kept.</summary>
    void ITrainingHook.OnTrainStart(TrainingRun run)
    {
        if (Updates == 0) CopyLive();
    }

    private void CopyLive()
    {
        using (torch.NewDisposeScope())
        using (torch.no_grad())
            foreach (var (average, value) in _floating.Concat(_counters)) average.copy_(value);
    }

    /// <summary>The weight the next update gives the average so far.</summary>
    public double NextDecay => Math.Min(Decay, (1.0 + Updates) / (10.0 + Updates));

    void ITrainingHook.AfterOptimizerStep(SegmentationModel model) => Update();

    /// <summary>Moves the average toward the trained model's current weights.</summary>
    public void Update()
    {
        double d = NextDecay;
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            foreach (var (average, value) in _floating) average.mul_(d).add_(value, alpha: 1 - d);
            foreach (var (average, value) in _counters) average.copy_(value);
        }
        Updates++;
    }

    /// <summary>Restores an average saved with a checkpoint (its weights file) after <paramref name="updates"/> steps.</summary>
    public void Restore(string weightsPath, long updates)
    {
        ModelWeights.Load(Model, weightsPath);
        Updates = updates;
    }

    public void Dispose() => Model.Dispose();
}
