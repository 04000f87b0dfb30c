using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Tests.Transforms;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Inference;

/// <summary>The post-processing a model's recipe chose travels in its model.json, and segment applies it unless told otherwise.</summary>
public sealed class ModelPostProcessingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-model-postprocessing-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly SegmentOptions Deterministic = new() { BatchSize = 1, Precision = InferencePrecision.Fp32, ChannelsLast = false };
    private static readonly PostProcessingOptions Large = PostProcessingOptions.Default with { Components = ComponentSelection.Large, MinComponentShare = 0.25 };

    [Theory]
    [InlineData(InferenceEngine.Torch)]
    [InlineData(InferenceEngine.Onnx)]
    public void A_model_cleans_up_as_its_manifest_says_unless_told_otherwise(InferenceEngine engine)
    {
        string checkpoint = TinyModel.UntrainedCheckpoint(Path.Combine(_folder, "large"), postProcessing: Large);
        var volume = new OrientedVolume(0, 0);
        var stack = volume.ToNifti(volume.Values, NiftiDataType.Float32);

        using var carried = Segmenter.Load(checkpoint, Deterministic with { Engine = engine });
        using var told = Segmenter.Load(checkpoint, Deterministic with { Engine = engine, PostProcessing = PostProcessingOptions.None });

        // On ONNX Runtime the manifest comes from the exported model's metadata.
        carried.Manifest.PostProcessing.ShouldBe(Large);
        carried.ResolvedPostProcessing.ShouldBe(Large);
        told.ResolvedPostProcessing.ShouldBe(PostProcessingOptions.None);
        var segmentation = carried.Segment(stack, keepProbabilities: true);
        var thresholded = PostProcessing.Threshold(segmentation.Probabilities!.Raw.Select(v => (float)v).ToArray(), 0.5f);
        segmentation.Mask.Raw.ShouldBe(PostProcessing.Apply(thresholded, stack.Grid, Large).Select(v => (double)v).ToArray());
        told.Segment(stack).Mask.Raw.ShouldBe(thresholded.Select(v => (double)v).ToArray());
    }

    [Fact]
    public void A_manifest_from_before_post_processing_travelled_gets_segments_default()
    {
        string checkpoint = TinyModel.UntrainedCheckpoint(Path.Combine(_folder, "older"));
        File.ReadAllText(Path.Combine(checkpoint, CheckpointManifest.FileName)).ShouldNotContain("PostProcessing");

        using var segmenter = Segmenter.Load(checkpoint, Deterministic);

        segmenter.Manifest.PostProcessing.ShouldBeNull();
        segmenter.ResolvedPostProcessing.ShouldBe(PostProcessingOptions.Default);
    }

    [Fact]
    public void An_ensemble_uses_its_members_post_processing_only_when_they_agree()
    {
        static CheckpointManifest Member(PostProcessingOptions? postProcessing) => new() { Model = "micronet", Spacing = 1, Size = 32, PostProcessing = postProcessing };

        Segmenter.ModelPostProcessing([Member(Large), Member(Large)]).ShouldBe(Large);
        Segmenter.ModelPostProcessing([Member(Large), Member(Large with { MinComponentShare = 0.5 })]).ShouldBe(PostProcessingOptions.Default);
        Segmenter.ModelPostProcessing([Member(Large), Member(null)]).ShouldBe(PostProcessingOptions.Default);
        Segmenter.ModelPostProcessing([Member(null), Member(PostProcessingOptions.Default)]).ShouldBe(PostProcessingOptions.Default);
    }

    [Fact]
    public void A_manifest_with_impossible_post_processing_is_refused_naming_the_file()
    {
        string checkpoint = TinyModel.UntrainedCheckpoint(Path.Combine(_folder, "bad"), postProcessing: Large);
        string manifest = Path.Combine(checkpoint, CheckpointManifest.FileName);
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"MinComponentShare\": 0.25", "\"MinComponentShare\": 0"));

        var refusal = Should.Throw<InvalidInputException>(() => CheckpointManifest.Locate(checkpoint));

        refusal.Message.ShouldContain(manifest);
        refusal.Message.ShouldContain("MinComponentShare");
    }

    [Fact]
    public void Training_writes_the_recipes_post_processing_into_the_checkpoint()
    {
        var recipe = new TrainingOptions { Data = "d", Postprocessing = new() { Components = ComponentSelection.Large, MinComponentShare = 0.25 } };

        RunRecorder.ManifestFor(recipe, 3, 0.5).PostProcessing.ShouldBe(Large);
        // The recipe's default (the large components), not segment's for manifests that name none (the largest).
        RunRecorder.ManifestFor(new TrainingOptions { Data = "d" }, 3, 0.5).PostProcessing.ShouldBe(PostProcessingOptions.Default with { Components = ComponentSelection.Large });
    }
}
