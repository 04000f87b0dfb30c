namespace GreenSeg.Phantom;

/// <summary>How many stacks of each sequence to make.</summary>
public sealed record StackCounts(int T2W, int Dwi, int Fmri)
{
    public int Total => T2W + Dwi + Fmri;

    public int For(PhantomSequence sequence) => sequence switch
    {
        PhantomSequence.T2W => T2W,
        PhantomSequence.DWI => Dwi,
        PhantomSequence.FMRI => Fmri,
        _ => throw new ArgumentOutOfRangeException(nameof(sequence), sequence, "unknown sequence"),
    };

    /// <summary>Spreads a total over the sequences in turn, T2W first (7 gives 3 T2W, 2 DWI, 2 FMRI).</summary>
    public static StackCounts Spread(int total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        int share = total / 3, rest = total % 3;
        return new StackCounts(share + (rest > 0 ? 1 : 0), share + (rest > 1 ? 1 : 0), share);
    }
}

/// <summary>Options of the synthetic fetal-MRI phantom. The default is the embedded dataset: 6 training and 3 test stacks.</summary>
public sealed record PhantomOptions
{
    public const int DefaultSeed = 42;

    /// <summary>Master seed; each stack draws from its own stream derived from it, its sequence and its volume number.</summary>
    public int Seed { get; init; } = DefaultSeed;

    /// <summary>Stacks written as training slices with masks (volumes numbered from 0 per sequence).</summary>
    public StackCounts TrainStacks { get; init; } = new(2, 2, 2);

    /// <summary>Stacks written as whole test volumes, with ground-truth masks (numbered after the training ones).</summary>
    public StackCounts TestStacks { get; init; } = new(1, 1, 1);

    public void Validate()
    {
        foreach (PhantomSequence sequence in Enum.GetValues<PhantomSequence>())
        {
            if (TrainStacks.For(sequence) < 0 || TestStacks.For(sequence) < 0)
                throw new ArgumentOutOfRangeException(nameof(TrainStacks), $"{sequence}: stack counts cannot be negative");
            if (TrainStacks.For(sequence) + TestStacks.For(sequence) > 10000)
                throw new ArgumentOutOfRangeException(nameof(TrainStacks), $"{sequence}: at most 10000 stacks (the file names hold 4 digits)");
        }
    }
}
