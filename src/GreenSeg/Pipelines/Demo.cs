using GreenSeg.Common;
using GreenSeg.Phantom;
using GreenSeg.Training;

namespace GreenSeg.Pipelines;

/// <summary>
/// `greenseg demo`: the whole chain on a freshly generated phantom, sized to finish in minutes on a
/// 2-core CPU. The phantom (6 training stacks as slices, 3 test stacks with ground truth) goes to
/// OUT/phantom; then <see cref="E2mipPipeline"/> trains the green recipe, predicts the test stacks
/// and evaluates them against the phantom's exact masks.
/// </summary>
public static class Demo
{
    public const string PhantomFolderName = "phantom";

    /// <summary>
    /// The green recipe on a budget: 128 x 128 inputs at 2 mm (the phantom's fields of view are
    /// 256-300 mm, so this keeps the whole head while cutting compute 4x against 256 at 1 mm; a fetal
    /// brain is still 30-50 pixels across), a short LR-finder sweep, a fixed number of epochs.
    /// </summary>
    public static TrainingOptions Recipe(int seed, int epochs) => new()
    {
        Seed = seed,
        Preprocessing = new() { Size = 128, Spacing = 2.0 },
        Schedule = new() { Epochs = epochs, LrFinderSteps = 30 },
    };

    public const int DefaultEpochs = 12;

    /// <summary>Writes the phantom into OUT/phantom (OUT must be new or empty) and returns the e2mip run on it (nothing trained yet).</summary>
    public static E2mipOptions Prepare(string outputFolder, int seed, TrainingOptions recipe, Action<PhantomStack>? onStack = null,
        CancellationToken cancellationToken = default)
    {
        string output = Path.GetFullPath(outputFolder);
        if (File.Exists(output) || (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any()))
            throw new InvalidInputException(output, "exists and is not empty; the demo writes a fresh phantom and run, so choose a new --out");
        string root = Path.Combine(output, PhantomFolderName);
        PhantomWriter.WriteDataset(root, new PhantomOptions { Seed = seed }, onStack, cancellationToken);
        return new E2mipOptions
        {
            TrainFolder = Path.Combine(root, "train_slice"),
            TestFolder = Path.Combine(root, "test_volume", "images"),
            TruthFolder = Path.Combine(root, "test_volume", "masks"),
            OutputFolder = outputFolder,
            Training = recipe,
        };
    }
}
