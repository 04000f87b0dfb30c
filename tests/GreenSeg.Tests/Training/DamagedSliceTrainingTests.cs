using System.IO.Compression;
using GreenSeg.Data;
using GreenSeg.Phantom;
using GreenSeg.Training;

namespace GreenSeg.Tests.Training;

/// <summary>A damaged slice is reported and the rest of the data trains (the README's promise).</summary>
[Collection(nameof(SerialTorch))]
public sealed class DamagedSliceTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-damaged-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Data => Path.Combine(_root, "data");

    private TrainingOptions Tiny(double validationFraction = 0.34) => new()
    {
        Data = Data, Model = "micronet", ValidationFraction = validationFraction, SplitSeed = 1,
        Preprocessing = new() { Size = 32, Spacing = 8 },
        Schedule = new() { Epochs = 1 },
        Optimisation = new() { LearningRate = "3e-3", BatchSize = "8" },
        Compute = new() { Precision = GreenSeg.Models.PrecisionChoice.Fp32, ChannelsLast = false, Threads = 2 },
    };

    /// <summary>Cuts a slice file's voxel data short, its header intact (gzip still valid).</summary>
    private static void Truncate(string path)
    {
        byte[] raw;
        using (var input = new GZipStream(File.OpenRead(path), CompressionMode.Decompress))
        using (var buffer = new MemoryStream())
        {
            input.CopyTo(buffer);
            raw = buffer.ToArray();
        }
        using var output = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        output.Write(raw, 0, 352 + 10);
    }

    [Fact]
    public void A_truncated_training_slice_is_skipped_and_named_and_training_goes_on()
    {
        PhantomWriter.WriteDataset(Data, new PhantomOptions { Seed = 7, TrainStacks = new(1, 1, 1), TestStacks = new(0, 0, 0) });
        var dataset = DatasetReader.Open(Data);
        var split = StackSplit.Split(dataset.TrainingStacks, 0.34, 1);
        string damaged = split.Train[0].Slices[3].ImagePath;
        Truncate(damaged);
        var log = new List<string>();

        var result = Trainer.Train(Tiny(), Path.Combine(_root, "run"), new MessageLog(log));

        result.EpochsRun.ShouldBe(1);
        log.ShouldContain(line => line.Contains("skipped") && line.Contains(Path.GetFileName(damaged)));
        File.ReadAllText(Path.Combine(result.RunFolder, "train.log")).ShouldContain(Path.GetFileName(damaged));
    }

    [Fact]
    public void A_validation_stack_with_a_damaged_slice_is_left_out_whole()
    {
        PhantomWriter.WriteDataset(Data, new PhantomOptions { Seed = 7, TrainStacks = new(2, 1, 1), TestStacks = new(0, 0, 0) });
        var split = StackSplit.Split(DatasetReader.Open(Data).TrainingStacks, 0.5, 1);
        split.Validation.Count.ShouldBeGreaterThan(1);
        var stack = split.Validation[0];
        Truncate(stack.Slices[1].ImagePath);
        var log = new List<string>();

        Trainer.Train(Tiny(validationFraction: 0.5), Path.Combine(_root, "run"), new MessageLog(log));

        log.ShouldContain(line => line.Contains(stack.Id) && line.Contains("validation stack left out"));
        log.ShouldContain(line => line.Contains("validating on") && !line.Contains(stack.Id));
    }

    private sealed class MessageLog(List<string> lines) : ITrainingObserver
    {
        public void Message(string line) => lines.Add(line);
        public void EpochStarted(int epoch, int totalEpochs, int steps) { }
        public void StepDone(int epoch, int step, int steps, double loss, double slicesPerSecond) { }
        public void EpochDone(EpochMetrics metrics, int totalEpochs) { }
    }
}
