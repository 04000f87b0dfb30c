using GreenSeg.Common;
using GreenSeg.Data;

namespace GreenSeg.Training;

/// <summary>
/// Reads and prepares every slice once before training, through the run's cache (so the work is not
/// repeated when the cache keeps it), and drops what cannot be read: a damaged training slice is reported
/// and the rest of its stack used; a validation stack with a damaged slice is reported and left out whole,
/// since it is scored as a 3D stack.
/// </summary>
internal static class SliceScreening
{
    public sealed record Result(IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation, IReadOnlyList<DatasetProblem> Problems);

    public static Result Screen(IReadOnlyList<TrainingStack> train, IReadOnlyList<TrainingStack> validation, SampleCache cache, int threads)
    {
        var slices = train.Concat(validation).SelectMany(s => s.Slices).Distinct().ToList();
        var damaged = new System.Collections.Concurrent.ConcurrentDictionary<SliceRef, DatasetProblem>();
        Parallel.ForEach(slices, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, slice =>
        {
            try
            {
                cache.Get(slice);
            }
            catch (Exception e) when (e is GreenSegException or IOException or UnauthorizedAccessException)
            {
                damaged[slice] = e is InvalidInputException invalid ? new DatasetProblem(invalid.Path, invalid.Problem) : new DatasetProblem(slice.ImagePath, e.Message);
            }
        });
        if (damaged.IsEmpty) return new Result(train, validation, []);

        var problems = slices.Where(damaged.ContainsKey).Select(s => damaged[s]).ToList();
        var usableTrain = train.Select(s => s with { Slices = s.Slices.Where(slice => !damaged.ContainsKey(slice)).ToList() })
            .Where(s => s.Slices.Count > 0).ToList();
        var usableValidation = validation.Where(s => !s.Slices.Any(damaged.ContainsKey)).ToList();
        foreach (var left in validation.Except(usableValidation))
            problems.Add(new DatasetProblem(left.Id, "validation stack left out: it has a damaged slice and is scored as a whole stack"));
        if (usableTrain.Count == 0) throw new GreenSegException($"no training slice could be read; the first problem: {problems[0].Path}: {problems[0].Problem}");
        if (validation.Count > 0 && usableValidation.Count == 0)
            throw new GreenSegException($"every validation stack has a damaged slice; the first problem: {problems[0].Path}: {problems[0].Problem}");
        return new Result(usableTrain, usableValidation, problems);
    }
}
