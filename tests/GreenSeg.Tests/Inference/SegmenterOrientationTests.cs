using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Models;
using GreenSeg.Tests.Transforms;
using GreenSeg.Training;

namespace GreenSeg.Tests.Inference;

/// <summary>
/// The segmenter's orientation plumbing with an untrained network (deterministic, no training): a model
/// that was trained in the canonical orientation sees the same pictures whatever the storage, so its
/// probabilities and mask are those of the reference storage, moved with the voxels.
/// </summary>
public sealed class SegmenterOrientationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-segmenter-orientation-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_canonical_orientation_model_segments_every_axial_storage_as_the_reference_one()
    {
        using var segmenter = Segmenter.Load(Checkpoint(canonicalOrientation: true), Deterministic);
        var reference = new OrientedVolume(0, 0);
        var expected = segmenter.Segment(reference.ToNifti(reference.Values, NiftiDataType.Float32), keepProbabilities: true);

        // Every storage whose slices are axial like the reference's: i and j in either order, any axis reversed.
        foreach (var storage in OrientedVolume.AllStorages().Select(s => new OrientedVolume(s.Order, s.FlipMask)).Where(v => v.ThroughPlaneWorldAxis == 2))
        {
            var result = segmenter.Segment(storage.ToNifti(storage.Values, NiftiDataType.Float32), keepProbabilities: true);
            Relocated(storage, result.Probabilities!.Raw).ShouldBe(expected.Probabilities!.Raw, $"{string.Join(",", storage.WorldAxes)} reversed {string.Join(",", storage.Flipped)}");
            Relocated(storage, result.Mask.Raw).ShouldBe(expected.Mask.Raw);
        }
    }

    [Fact]
    public void Without_it_a_transposed_storage_is_a_different_picture_to_the_network()
    {
        using var segmenter = Segmenter.Load(Checkpoint(canonicalOrientation: false), Deterministic);
        var reference = new OrientedVolume(0, 0);
        var transposed = new OrientedVolume([1, 0, 2], [false, false, false]);

        var expected = segmenter.Segment(reference.ToNifti(reference.Values, NiftiDataType.Float32), keepProbabilities: true);
        var result = segmenter.Segment(transposed.ToNifti(transposed.Values, NiftiDataType.Float32), keepProbabilities: true);

        Relocated(transposed, result.Probabilities!.Raw).ShouldNotBe(expected.Probabilities!.Raw);
    }

    [Fact]
    public void Three_planes_average_the_stored_slices_and_the_planes_cut_across_x_and_y()
    {
        string checkpoint = Checkpoint(canonicalOrientation: false, spacing: 5);
        using var segmenter = Segmenter.Load(checkpoint, Deterministic);
        using var threePlanes = Segmenter.Load(checkpoint, Deterministic with { Views = SegmentationViews.ThreePlanes });
        var reference = new OrientedVolume([0, 1, 2], [false, false, false], Thick);
        // The planes across x (pixels along y, rows through z) and across y (along x, through z) are the stored slices of these storages.
        OrientedVolume[] views = [reference, new([1, 2, 0], [false, false, false], Thick), new([0, 2, 1], [false, false, false], Thick)];
        var expected = new double[reference.Values.Length];
        foreach (var view in views)
        {
            double[] probabilities = Relocated(view, segmenter.Segment(view.ToNifti(view.Values, NiftiDataType.Float32), keepProbabilities: true).Probabilities!.Raw);
            for (int i = 0; i < expected.Length; i++) expected[i] += probabilities[i] / views.Length;
        }

        var result = threePlanes.Segment(reference.ToNifti(reference.Values, NiftiDataType.Float32), keepProbabilities: true);

        result.Probabilities!.Raw.ShouldBe(expected, tolerance: 1e-6);
        // Each view alone differs from the average: the cut planes were really segmented.
        Relocated(reference, segmenter.Segment(reference.ToNifti(reference.Values, NiftiDataType.Float32), keepProbabilities: true).Probabilities!.Raw)
            .Zip(expected, (a, b) => Math.Abs(a - b)).Max().ShouldBeGreaterThan(1e-3);
    }

    [Fact]
    public void With_three_planes_a_canonical_orientation_model_segments_all_48_storages_alike()
    {
        using var segmenter = Segmenter.Load(Checkpoint(canonicalOrientation: true, spacing: 5), Deterministic with { Views = SegmentationViews.ThreePlanes });
        var reference = new OrientedVolume(0, 0, Thick);
        var expected = segmenter.Segment(reference.ToNifti(reference.Values, NiftiDataType.Float32), keepProbabilities: true);

        // Whatever the plane the stack was stored in: the three views are the same three world planes, each turned alike.
        foreach (var storage in OrientedVolume.AllStorages().Select(s => new OrientedVolume(s.Order, s.FlipMask, Thick)))
        {
            var result = segmenter.Segment(storage.ToNifti(storage.Values, NiftiDataType.Float32), keepProbabilities: true);
            string name = $"{string.Join(",", storage.WorldAxes)} reversed {string.Join(",", storage.Flipped)}";
            // The three views' sums are added in another order, hence rounding.
            Relocated(storage, result.Probabilities!.Raw).ShouldBe(expected.Probabilities!.Raw, tolerance: 1e-6, name);
            Relocated(storage, result.Mask.Raw).ShouldBe(expected.Mask.Raw, name);
        }
    }

    [Fact]
    public void A_stack_too_thin_for_cut_planes_is_segmented_in_its_stored_slices_only()
    {
        var thin = new OrientedVolume(0, 0);
        (thin.Size[2] * thin.Spacing[2]).ShouldBeLessThan(GreenSeg.Data.MultiPlanarCuts.MinimumThroughPlaneMm);
        string checkpoint = Checkpoint(canonicalOrientation: false);
        using var stored = Segmenter.Load(checkpoint, Deterministic);
        using var threePlanes = Segmenter.Load(checkpoint, Deterministic with { Views = SegmentationViews.ThreePlanes });

        threePlanes.Segment(thin.ToNifti(thin.Values, NiftiDataType.Float32), keepProbabilities: true).Probabilities!.Raw
            .ShouldBe(stored.Segment(thin.ToNifti(thin.Values, NiftiDataType.Float32), keepProbabilities: true).Probabilities!.Raw);
    }

    /// <summary>Spacing scale that makes every axis of the reference volume at least 48 mm long (5 voxels of 10 mm, ...), so cut planes apply.</summary>
    private const double Thick = 20;

    /// <summary>One slice per batch and fp32, so each slice's prediction cannot depend on its neighbours in a batch.</summary>
    private static readonly SegmentOptions Deterministic = new() { BatchSize = 1, Precision = InferencePrecision.Fp32, ChannelsLast = false };

    /// <summary>An untrained micronet saved as training would save it (32 x 32 at <paramref name="spacing"/> mm).</summary>
    private string Checkpoint(bool canonicalOrientation, double spacing = 0.25)
    {
        string folder = Path.Combine(_folder, FormattableString.Invariant($"{(canonicalOrientation ? "canonical" : "as-stored")}-{spacing}"));
        Directory.CreateDirectory(folder);
        using (var model = ModelRegistry.Create("micronet", new ModelOptions { Seed = 3 }))
            ModelWeights.Save(model, Path.Combine(folder, CheckpointManifest.WeightsFileName));
        new CheckpointManifest { Model = "micronet", Spacing = spacing, Size = 32, CanonicalOrientation = canonicalOrientation }.Save(folder);
        return folder;
    }

    /// <summary>Values of a storage put back where the same voxels sit in the reference storage.</summary>
    private static double[] Relocated(OrientedVolume storage, double[] values)
    {
        int[] size = OrientedVolume.ReferenceSize;
        var reference = new double[values.Length];
        for (int k = 0; k < storage.Size[2]; k++)
        for (int j = 0; j < storage.Size[1]; j++)
        for (int i = 0; i < storage.Size[0]; i++)
        {
            int[] voxel = storage.ReferenceVoxel(i, j, k);
            reference[voxel[0] + size[0] * (voxel[1] + size[1] * voxel[2])] = values[i + storage.Size[0] * (j + storage.Size[1] * k)];
        }
        return reference;
    }
}
