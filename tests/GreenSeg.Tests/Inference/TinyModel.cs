using GreenSeg.Models;
using GreenSeg.Imaging;
using GreenSeg.Phantom;
using GreenSeg.Training;

namespace GreenSeg.Tests.Inference;

/// <summary>
/// A small phantom (3 training stacks as slices, 2 test stacks) and a model trained on it for one epoch
/// at 32 x 32 and 8 mm: enough to run every inference path quickly (its masks need not be good).
/// </summary>
public sealed class TinyModel : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("greenseg-tiny-model-").FullName;
    public string Phantom => Path.Combine(Root, "phantom");
    public string RunFolder => Path.Combine(Root, "run");
    public string TestImages => Path.Combine(Phantom, "test_volume", "images");
    public string TestMasks => Path.Combine(Phantom, "test_volume", "masks");
    public string TrainImages => Path.Combine(Phantom, "train_slice", "images");

    /// <summary>The test stacks' paths (T2W first).</summary>
    public IReadOnlyList<string> TestStacks => NiftiFiles.InFolder(TestImages).OrderByDescending(p => p.Contains("T2W")).ToList();

    public TinyModel()
    {
        PhantomWriter.WriteDataset(Phantom, new PhantomOptions { Seed = 11, TrainStacks = new(1, 1, 1), TestStacks = new(1, 0, 1) });
        Trainer.Train(Recipe(Phantom), RunFolder);
    }

    /// <summary>micronet at 32 x 32 and 8 mm, one epoch, fixed rate; fp32/NCHW keeps training short.</summary>
    public static TrainingOptions Recipe(string data) => new()
    {
        Data = data,
        Model = "micronet",
        Preprocessing = new() { Size = 32, Spacing = 8 },
        Schedule = new() { Epochs = 1 },
        Optimisation = new() { LearningRate = "3e-3", BatchSize = "8" },
        Compute = new() { Precision = GreenSeg.Models.PrecisionChoice.Fp32, ChannelsLast = false, Threads = 2 },
    };

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>An untrained, seeded micronet saved into <paramref name="folder"/> as training saves a checkpoint: deterministic, no training.</summary>
    public static string UntrainedCheckpoint(string folder, int seed = 1, double spacing = 1, int size = 32,
        GreenSeg.Transforms.PostProcessingOptions? postProcessing = null)
    {
        Directory.CreateDirectory(folder);
        using (var model = GreenSeg.Models.ModelRegistry.Create("micronet", new GreenSeg.Models.ModelOptions { Seed = seed }))
            GreenSeg.Models.ModelWeights.Save(model, Path.Combine(folder, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = "micronet", Spacing = spacing, Size = size, PostProcessing = postProcessing }.Save(folder);
        return folder;
    }
}
