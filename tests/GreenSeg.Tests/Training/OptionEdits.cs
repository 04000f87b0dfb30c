using GreenSeg.Training;

namespace GreenSeg.Tests.Training;

/// <summary>One section of the options changed, the rest kept: <c>options.WithSchedule(s => s with { Epochs = 2 })</c>.</summary>
internal static class OptionEdits
{
    public static TrainingOptions WithPreprocessing(this TrainingOptions options, Func<PreprocessingSection, PreprocessingSection> edit) =>
        options with { Preprocessing = edit(options.Preprocessing) };

    public static TrainingOptions WithLoading(this TrainingOptions options, Func<LoadingSection, LoadingSection> edit) =>
        options with { Loading = edit(options.Loading) };

    public static TrainingOptions WithCompute(this TrainingOptions options, Func<ComputeSection, ComputeSection> edit) =>
        options with { Compute = edit(options.Compute) };

    public static TrainingOptions WithOptimisation(this TrainingOptions options, Func<OptimisationSection, OptimisationSection> edit) =>
        options with { Optimisation = edit(options.Optimisation) };

    public static TrainingOptions WithSchedule(this TrainingOptions options, Func<ScheduleSection, ScheduleSection> edit) =>
        options with { Schedule = edit(options.Schedule) };

    public static TrainingOptions WithStopping(this TrainingOptions options, Func<StoppingSection, StoppingSection> edit) =>
        options with { Stopping = edit(options.Stopping) };
}
