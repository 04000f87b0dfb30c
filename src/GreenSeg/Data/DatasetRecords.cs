namespace GreenSeg.Data;

/// <summary>
/// One 2D training sample: slice <see cref="Z"/> of an image file (0 for a 2D file) and its mask; or, when
/// <see cref="Cut"/> is set, the plane at index <see cref="Z"/> across another axis of that stack
/// reassembled (<see cref="MultiPlanarCuts"/>; the paths are then its first slice's, for messages).
/// </summary>
public sealed record SliceRef(string ImagePath, string? MaskPath, int Z, StackCut? Cut = null);

/// <summary>The slices of one stack (subject). Splits are made by stack, never by slice.</summary>
public sealed record TrainingStack(string Id, string Sequence, IReadOnlyList<SliceRef> Slices);

/// <summary>A whole 3D stack to segment, with its ground truth when the layout has one.</summary>
public sealed record TestVolume(string Id, string Sequence, string ImagePath, string? MaskPath);

/// <summary>Something wrong with a file of the dataset; the rest is still usable.</summary>
public sealed record DatasetProblem(string Path, string Problem);

public enum DatasetLayout { E2mip, Paired, Csv }

public sealed class Dataset
{
    public required string Root { get; init; }
    public required DatasetLayout Layout { get; init; }
    public required IReadOnlyList<TrainingStack> TrainingStacks { get; init; }
    public required IReadOnlyList<TestVolume> TestVolumes { get; init; }
    public required IReadOnlyList<DatasetProblem> Problems { get; init; }

    public int TrainingSliceCount => TrainingStacks.Sum(s => s.Slices.Count);
}
