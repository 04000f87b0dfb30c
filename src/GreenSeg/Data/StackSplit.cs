namespace GreenSeg.Data;

/// <summary>
/// Splits stacks (never slices: neighbouring slices of one stack are nearly identical) into training
/// and validation sets, deterministically for a seed, spreading each sequence over both sides when it can.
/// </summary>
public static class StackSplit
{
    public static (IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Validation) Split(
        IReadOnlyList<TrainingStack> stacks, double validationFraction, int seed)
    {
        if (validationFraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(validationFraction), "must be in [0, 1)");
        if (stacks.Count == 0 || validationFraction == 0) return (stacks, []);
        int wanted = Math.Clamp((int)Math.Round(stacks.Count * validationFraction), 1, stacks.Count - 1);

        // Round-robin over sequences (each shuffled), so validation gets one stack of each sequence before a second of any.
        var random = new Random(seed);
        var queues = stacks.GroupBy(s => s.Sequence, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new Queue<TrainingStack>(g.OrderBy(s => s.Id, StringComparer.Ordinal).OrderBy(_ => random.Next())))
            .ToList();
        var validation = new HashSet<string>(StringComparer.Ordinal);
        while (validation.Count < wanted)
        {
            foreach (var queue in queues.OrderBy(_ => random.Next()))
            {
                // Keep at least one stack of a sequence for training.
                if (queue.Count > 1 && validation.Count < wanted) validation.Add(queue.Dequeue().Id);
            }
            if (queues.All(q => q.Count <= 1)) break;
        }
        // Too few stacks per sequence to keep one of each for training: take the rest from the largest sequences.
        foreach (var queue in queues.OrderByDescending(q => q.Count))
            while (validation.Count < wanted && queue.Count > 0) validation.Add(queue.Dequeue().Id);
        return (stacks.Where(s => !validation.Contains(s.Id)).ToList(), stacks.Where(s => validation.Contains(s.Id)).ToList());
    }
}
