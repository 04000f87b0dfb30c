using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Data;

namespace GreenSeg.CrossValidation;

public enum FoldScheme
{
    /// <summary>k folds of whole stacks, each sequence spread over the folds.</summary>
    KFold,
    /// <summary>One fold per sequence: train on the others, test on it (the proxy here for a new site or protocol).</summary>
    LeaveOneSequenceOut,
    /// <summary>One fold per stack.</summary>
    LeaveOneStackOut,
}

/// <summary>How stacks are split into folds: a scheme and, for <see cref="FoldScheme.KFold"/>, k.</summary>
public sealed record FoldSpec(FoldScheme Scheme, int K = 0)
{
    /// <summary>"5" (k-fold by stack), "sequence" (leave one sequence out) or "stack" (leave one stack out).</summary>
    public static FoldSpec Parse(string text)
    {
        string value = text.Trim().ToLowerInvariant();
        if (value == "sequence") return new FoldSpec(FoldScheme.LeaveOneSequenceOut);
        if (value == "stack") return new FoldSpec(FoldScheme.LeaveOneStackOut);
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k >= 2 && k <= 1000)
            return new FoldSpec(FoldScheme.KFold, k);
        throw new GreenSegException($"folds '{text}': expected a number of folds (2 or more), sequence or stack");
    }

    public override string ToString() => Scheme switch
    {
        FoldScheme.KFold => K.ToString(CultureInfo.InvariantCulture),
        FoldScheme.LeaveOneSequenceOut => "sequence",
        _ => "stack",
    };
}

/// <summary>One fold: the stacks it trains on and the stacks it tests on; the two never share a stack.</summary>
public sealed record Fold(int Index, string Name, IReadOnlyList<TrainingStack> Train, IReadOnlyList<TrainingStack> Test);

public static class Folds
{
    /// <summary>The folds of a scheme over these stacks, the same for a seed; every stack is tested in exactly one fold.</summary>
    public static IReadOnlyList<Fold> Make(IReadOnlyList<TrainingStack> stacks, FoldSpec spec, int seed)
    {
        if (stacks.Select(s => s.Id).Distinct(StringComparer.Ordinal).Count() != stacks.Count)
            throw new ArgumentException("stack ids must be unique", nameof(stacks));
        var ordered = stacks.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        List<(string Name, List<TrainingStack> Test)> groups = spec.Scheme switch
        {
            FoldScheme.LeaveOneSequenceOut => ordered.GroupBy(s => s.Sequence, StringComparer.Ordinal)
                .Select(g => (g.Key, g.ToList())).ToList(),
            FoldScheme.LeaveOneStackOut => ordered.Select(s => (s.Id, new List<TrainingStack> { s })).ToList(),
            _ => KFoldGroups(ordered, spec.K, seed),
        };
        if (groups.Count < 2)
            throw new GreenSegException($"folds {spec}: {stacks.Count} stacks in {groups.Count} group(s); cross-validation needs at least two folds");
        return groups.Select((group, index) =>
        {
            var test = new HashSet<string>(group.Test.Select(s => s.Id), StringComparer.Ordinal);
            return new Fold(index, group.Name, ordered.Where(s => !test.Contains(s.Id)).ToList(), group.Test);
        }).ToList();
    }

    /// <summary>
    /// Deals stacks to k folds one at a time, sequence after sequence (each shuffled by the seed), continuing
    /// where the last sequence stopped, so every fold gets a share of every sequence and fold sizes differ by at most one.
    /// </summary>
    private static List<(string, List<TrainingStack>)> KFoldGroups(List<TrainingStack> ordered, int k, int seed)
    {
        if (k > ordered.Count) throw new GreenSegException($"folds {k}: only {ordered.Count} stacks; use at most {ordered.Count} folds (or --folds stack)");
        var random = new Random(seed);
        var folds = Enumerable.Range(0, k).Select(_ => new List<TrainingStack>()).ToList();
        int next = 0;
        foreach (var sequence in ordered.GroupBy(s => s.Sequence, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            foreach (var stack in sequence.OrderBy(_ => random.Next()))
                folds[next++ % k].Add(stack);
        return folds.Select((f, i) => ($"fold{i + 1}", f)).ToList();
    }
}
