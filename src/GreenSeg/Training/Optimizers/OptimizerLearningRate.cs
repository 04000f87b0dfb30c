using TorchSharp;

namespace GreenSeg.Training.Optimizers;

/// <summary>Reads and sets the learning rate of every parameter group of any TorchSharp optimizer.</summary>
public static class OptimizerLearningRate
{
    /// <summary>The current learning rate of the first parameter group.</summary>
    public static double Get(torch.optim.Optimizer optimizer) => optimizer.ParamGroups.First().LearningRate;

    /// <summary>
    /// Sets the current and the initial learning rate of every group. Schedulers take their base rate from
    /// the initial one, so use this (not LearningRate alone) before creating a scheduler, e.g. after the LR finder.
    /// </summary>
    public static void SetInitial(torch.optim.Optimizer optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = learningRate;
            group.InitialLearningRate = learningRate;
        }
    }

    /// <summary>Sets only the current learning rate of every group (what a sweep or schedule does).</summary>
    public static void SetCurrent(torch.optim.Optimizer optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
    }
}
