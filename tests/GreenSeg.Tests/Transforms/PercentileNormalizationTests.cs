using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Transforms;

public sealed class PercentileNormalizationTests
{
    private static readonly SlicePreprocessor Geometry = new(new PreprocessingOptions
    {
        TargetSpacing = 1, TargetWidth = 10, TargetHeight = 10, Normalization = IntensityNormalization.Percentile,
    });

    [Fact]
    public void ThePercentileRangeMapsToZeroToOne()
    {
        // 0..99: the 1st percentile is 0.99 and the 99th 98.01 (linear between ranks, as numpy).
        var image = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();

        var output = Geometry.Forward(image, [], 10, 10, 1, 1).Image;

        output[1].ShouldBe((1 - 0.99f) / (98.01f - 0.99f), 1e-5);
        output[98].ShouldBe((98 - 0.99f) / (98.01f - 0.99f), 1e-5);
        output.Min().ShouldBeLessThan(0f);
        output.Max().ShouldBeGreaterThan(1f);
    }

    [Fact]
    public void MoreBodyInTheFieldOfViewMovesAZScoreButNotThePercentileScale()
    {
        // The same brain-and-fluid slice, once with a large dark body region around it: a z-score moves
        // the brain's value, the percentile scale keeps it (its 1st and 99th percentiles are 0 and 1000 in both).
        var small = Enumerable.Range(0, 100).Select(i => i < 10 ? 0f : i < 60 ? 500f : 1000f).ToArray();
        var large = Enumerable.Range(0, 100).Select(i => i < 40 ? 0f : i < 60 ? 500f : 1000f).ToArray();
        var zscore = new SlicePreprocessor(Geometry.Options with { Normalization = IntensityNormalization.ZScoreNonzero });

        Geometry.Forward(small, [], 10, 10, 1, 1).Image[50].ShouldBe(Geometry.Forward(large, [], 10, 10, 1, 1).Image[50]);
        Math.Abs(zscore.Forward(small, [], 10, 10, 1, 1).Image[50] - zscore.Forward(large, [], 10, 10, 1, 1).Image[50]).ShouldBeGreaterThan(0.1f);
    }

    [Fact]
    public void AConstantSliceBecomesZero() =>
        Geometry.Forward(Enumerable.Repeat(7f, 100).ToArray(), [], 10, 10, 1, 1).Image.ShouldAllBe(v => v == 0f);

    [Fact]
    public void TheCheckpointCarriesTheNormalisationAndAnOldManifestReadsAsZScore()
    {
        var options = new TrainingOptions { Preprocessing = new() { Normalization = IntensityNormalization.Percentile } };
        options.Preprocessing.ToPreprocessingOptions().Normalization.ShouldBe(IntensityNormalization.Percentile);
        options.Preprocessing.ToPreprocessingOptions().Fingerprint().ShouldNotBe(
            new TrainingOptions { Preprocessing = new() { Normalization = IntensityNormalization.ZScoreNonzero } }.Preprocessing.ToPreprocessingOptions().Fingerprint());

        string folder = Directory.CreateTempSubdirectory("greenseg-manifest-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, CheckpointManifest.FileName), """{ "Model": "unet", "Spacing": 2, "Size": 128 }""");
            File.WriteAllBytes(Path.Combine(folder, CheckpointManifest.WeightsFileName), []);
            var (manifest, _) = CheckpointManifest.Locate(folder);
            manifest.Preprocessing().ShouldBe(new PreprocessingOptions { TargetSpacing = 2, TargetWidth = 128, TargetHeight = 128 });

            new CheckpointManifest { Model = "unet", Spacing = 2, Size = 128, Normalization = IntensityNormalization.Percentile }.Save(folder);
            File.ReadAllText(Path.Combine(folder, CheckpointManifest.FileName)).ShouldContain("\"Percentile\"");
            CheckpointManifest.Locate(folder).Manifest.Normalization.ShouldBe(IntensityNormalization.Percentile);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
