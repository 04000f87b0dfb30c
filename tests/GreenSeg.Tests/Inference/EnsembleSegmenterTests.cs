using GreenSeg.Transforms;
using GreenSeg.Models;
using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Tests.Transforms;
using GreenSeg.Training;

namespace GreenSeg.Tests.Inference;

/// <summary>A cross-validation's folder segments as an ensemble of its fold models: their probabilities averaged.</summary>
public sealed class EnsembleSegmenterTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-ensemble-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly SegmentOptions Deterministic = new() { BatchSize = 1, Precision = InferencePrecision.Fp32, ChannelsLast = false };

    [Fact]
    public void The_ensemble_averages_its_fold_models_probabilities_and_thresholds_the_average()
    {
        string crossval = CrossValidationFolder(("fold1", 3, 0.25), ("fold2", 4, 0.5));
        var volume = new OrientedVolume(0, 0);
        var stack = volume.ToNifti(volume.Values, NiftiDataType.Float32);

        using var ensemble = Segmenter.Load(crossval, Deterministic);
        using var first = Segmenter.Load(Path.Combine(crossval, "folds", "fold1"), Deterministic);
        using var second = Segmenter.Load(Path.Combine(crossval, "folds", "fold2"), Deterministic);
        var together = ensemble.Segment(stack, keepProbabilities: true).Probabilities!.Raw;
        var one = first.Segment(stack, keepProbabilities: true).Probabilities!.Raw;
        var two = second.Segment(stack, keepProbabilities: true).Probabilities!.Raw;

        ensemble.Manifests.Select(m => m.Spacing).ShouldBe([0.25, 0.5]);
        one.ShouldNotBe(two);
        for (int i = 0; i < together.Length; i++) together[i].ShouldBe((one[i] + two[i]) / 2, 1e-6);
        var mask = ensemble.Segment(stack).Mask.Raw;
        var expected = PostProcessing.Apply(PostProcessing.Threshold(together.Select(v => (float)v).ToArray(), 0.5f), stack.Grid, PostProcessingOptions.Default);
        mask.ShouldBe(expected.Select(v => (double)v).ToArray());
    }

    [Fact]
    public void A_fold_still_training_is_named_and_not_used()
    {
        string crossval = CrossValidationFolder(("fold1", 3, 0.25), ("fold2", 4, 0.5));
        File.Delete(Path.Combine(crossval, "folds", "fold2", RunFolder.SummaryFileName));

        Should.Throw<InvalidInputException>(() => Segmenter.Load(crossval, Deterministic)).Message.ShouldContain("fold2");
    }

    [Fact]
    public void A_single_run_folder_stays_one_model()
    {
        string crossval = CrossValidationFolder(("fold1", 3, 0.25));

        CheckpointManifest.LocateAll(Path.Combine(crossval, "folds", "fold1")).Count.ShouldBe(1);
        CheckpointManifest.LocateAll(crossval).Count.ShouldBe(1);
        Should.Throw<InvalidInputException>(() => CheckpointManifest.LocateAll(Path.Combine(crossval, "folds")));
    }

    /// <summary>A crossval output folder with finished fold runs holding untrained micronets (seed, spacing per fold).</summary>
    private string CrossValidationFolder(params (string Name, int Seed, double Spacing)[] folds)
    {
        string root = Path.Combine(_folder, "cv");
        foreach (var (name, seed, spacing) in folds)
        {
            string run = Path.Combine(root, CheckpointManifest.FoldsFolderName, name);
            TinyModel.UntrainedCheckpoint(Path.Combine(run, "checkpoints", "best"), seed, spacing);
            File.WriteAllText(Path.Combine(run, RunFolder.SummaryFileName), "{}");
        }
        return root;
    }
}
