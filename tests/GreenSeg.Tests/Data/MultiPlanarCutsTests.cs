using CsCheck;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Imaging;
using GreenSeg.Phantom;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Data;

public sealed class MultiPlanarCutsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-multiplanar-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private (PhantomStack Stack, TrainingStack Slices) WritePhantom(int seed = 3)
    {
        var generator = new PhantomGenerator(new PhantomOptions { Seed = seed, TrainStacks = new(0, 1, 0), TestStacks = new(0, 0, 0) });
        PhantomStack stack = generator.Generate(generator.Plan().Single());
        PhantomWriter.Write(_root, stack);
        return (stack, DatasetReader.Open(_root).TrainingStacks.Single());
    }

    [Fact]
    public void Cut_planes_are_the_phantom_volume_resliced_both_ways_with_the_slice_thickness_as_pixel_height()
    {
        var (phantom, stack) = WritePhantom();
        (phantom.Depth * phantom.SpacingZ).ShouldBeGreaterThanOrEqualTo(MultiPlanarCuts.MinimumThroughPlaneMm);
        float[] volume = NiftiImage.Create(phantom.Width, phantom.Height, phantom.Depth, 1, 1, 1, phantom.Image, phantom.ImageType).Scaled();
        int w = phantom.Width, h = phantom.Height;

        var withCuts = MultiPlanarCuts.Add([stack], share: 1.0).Single();

        withCuts.Slices.Take(stack.Slices.Count).ShouldBe(stack.Slices);
        var cuts = withCuts.Slices.Skip(stack.Slices.Count).ToList();
        int perAxis = (int)Math.Round(stack.Slices.Count / 2.0, MidpointRounding.AwayFromZero);
        cuts.Count(c => c.Cut!.Axis == CutAxis.X).ShouldBe(perAxis);
        cuts.Count(c => c.Cut!.Axis == CutAxis.Y).ShouldBe(perAxis);
        MultiPlanarCuts.CountCuts([withCuts]).ShouldBe(2 * perAxis);
        var reader = new SliceReader();
        foreach (var cut in cuts)
        {
            RawSlice plane = reader.Read(cut);
            bool acrossX = cut.Cut!.Axis == CutAxis.X;
            (plane.Width, plane.Height).ShouldBe((acrossX ? h : w, phantom.Depth));
            plane.SpacingX.ShouldBe(acrossX ? phantom.SpacingY : phantom.SpacingX, 1e-6);
            plane.SpacingY.ShouldBe(phantom.SpacingZ, 1e-6);
            for (int z = 0; z < phantom.Depth; z++)
                for (int u = 0; u < plane.Width; u++)
                {
                    int voxel = acrossX ? cut.Z + w * (u + h * z) : u + w * (cut.Z + h * z);
                    plane.Image[u + plane.Width * z].ShouldBe(volume[voxel]);
                    plane.Mask![u + plane.Width * z].ShouldBe(phantom.Mask[voxel]);
                }
        }
        // The cuts go through the brain: most planes hold some of it.
        cuts.Count(c => reader.Read(c).Mask!.Contains((byte)1)).ShouldBeGreaterThan(cuts.Count / 2);
    }

    [Fact]
    public void Cut_indices_are_distinct_and_span_the_brain_with_a_margin()
    {
        var (phantom, stack) = WritePhantom(seed: 5);
        var cuts = MultiPlanarCuts.Add([stack], share: 2.0).Single().Slices.Where(s => s.Cut is not null).ToList();

        foreach (var axis in new[] { CutAxis.X, CutAxis.Y })
        {
            var indices = cuts.Where(c => c.Cut!.Axis == axis).Select(c => c.Z).ToList();
            indices.Distinct().Count().ShouldBe(indices.Count);
            var brain = Enumerable.Range(0, phantom.Mask.Length).Where(i => phantom.Mask[i] != 0)
                .Select(i => axis == CutAxis.X ? i % phantom.Width : i / phantom.Width % phantom.Height).ToList();
            indices.Min().ShouldBeLessThan(brain.Min());
            indices.Max().ShouldBeGreaterThan(brain.Max());
        }
    }

    [Fact]
    public void A_share_of_zero_changes_nothing_and_a_thin_stack_gets_no_cuts()
    {
        var (_, stack) = WritePhantom();
        IReadOnlyList<TrainingStack> stacks = [stack];
        MultiPlanarCuts.Add(stacks, 0).ShouldBeSameAs(stacks);
        Should.Throw<GreenSegException>(() => MultiPlanarCuts.Add(stacks, -1)).Message.ShouldContain("multi-planar");

        var thin = stack with { Slices = stack.Slices.Take(4).ToList() };
        MultiPlanarCuts.Add([thin], 1).Single().Slices.ShouldBe(thin.Slices);
    }

    [Fact]
    public void A_model_trained_on_cut_planes_says_so_in_its_manifest_and_an_older_manifest_reads_as_stored_slices_only()
    {
        var options = new TrainingOptions { Compute = new() { Precision = GreenSeg.Models.PrecisionChoice.Fp32 } };
        RunRecorder.ManifestFor(options with { Loading = options.Loading with { MultiPlanar = 0.5 } }, 0, 0).MultiPlanar.ShouldBe(0.5);
        RunRecorder.ManifestFor(options, 0, 0).MultiPlanar.ShouldBe(0);
        GreenSeg.Models.CheckpointManifest.FromJson("""{"Model":"unet","Spacing":2,"Size":128}""", "model.json").MultiPlanar.ShouldBe(0);
    }

    [Fact]
    public void A_cut_plane_takes_its_orientation_from_the_stack_affine()
    {
        // An axial stack whose x runs right to left: the plane across y keeps x as its width, so it is mirrored to canonical.
        var image = NiftiImage.Create(4, 3, 20, 1, 1, 3, new float[4 * 3 * 20], NiftiDataType.Float32);
        WriteSlices(image, xRow: [-1, 0, 0, 0]);
        var stack = DatasetReader.Open(_root).TrainingStacks.Single();

        var cuts = MultiPlanarCuts.Add([stack], 1).Single().Slices.Where(s => s.Cut is not null).ToList();

        cuts.First(c => c.Cut!.Axis == CutAxis.Y).Cut!.Plane.Orientation.ShouldBe(new InPlaneOrientation(Transpose: false, FlipX: true, FlipY: false));
        cuts.First(c => c.Cut!.Axis == CutAxis.X).Cut!.Plane.Orientation.ShouldBe(InPlaneOrientation.Identity);
    }

    [Fact]
    public void Cut_planes_go_through_the_preparation_and_the_disk_cache_like_stored_slices()
    {
        var (_, stack) = WritePhantom();
        var withCuts = MultiPlanarCuts.Add([stack], 1).Single();
        var options = new TrainingOptions { Preprocessing = new() { Size = 64, Spacing = 2 } };
        var preparation = SamplePreparation.Create(options);
        string cacheDir = Path.Combine(_root, "cache");
        var cut = withCuts.Slices.Last();

        var first = new SampleCache(CacheMode.Disk, preparation.Prepare, preparation.Fingerprint, cacheDir).Get(cut);
        var again = new SampleCache(CacheMode.Disk, preparation.Prepare, preparation.Fingerprint, cacheDir);
        var second = again.Get(cut);

        again.HitCount.ShouldBe(1);
        second.Image.ShouldBe(first.Image);
        second.Mask.ShouldBe(first.Mask);
        // Another cut of the same stack is another entry, though it names the same first slice file.
        var other = again.Get(withCuts.Slices[^2]);
        again.PreparedCount.ShouldBe(1);
        other.Image.ShouldNotBe(first.Image);
    }

    [Fact]
    public void Evenly_spaced_indices_are_distinct_inside_the_range_and_as_many_as_fit()
    {
        Gen.Select(Gen.Int[0, 50], Gen.Int[0, 60], Gen.Int[0, 80]).Sample((low, span, count) =>
        {
            int high = low + span;
            var indices = MultiPlanarCuts.EvenlySpaced(low, high, count).ToList();
            return indices.Count == Math.Min(count, span + 1)
                && indices.Distinct().Count() == indices.Count
                && indices.All(i => i >= low && i <= high);
        });
    }

    [Fact]
    public void The_option_is_set_by_yaml_or_the_cli_flag_and_validated()
    {
        new TrainingOptions().Loading.MultiPlanar.ShouldBe(0);
        TrainingOptions.Parse("data: d\nmulti-planar: 0.5\n", "test.yaml").Loading.MultiPlanar.ShouldBe(0.5);
        new GreenSeg.Cli.Commands.TrainSettings { Data = "d", MultiPlanar = 1 }.Resolve().Loading.MultiPlanar.ShouldBe(1);
        Should.Throw<GreenSegException>(() => new TrainingOptions { Data = "d", Loading = new() { MultiPlanar = double.NaN } }.Validate()).Message.ShouldContain("multi-planar");
    }

    private void WriteSlices(NiftiImage volume, double[] xRow)
    {
        string images = Path.Combine(_root, "train_slice", "images"), masks = Path.Combine(_root, "train_slice", "masks");
        Directory.CreateDirectory(images);
        Directory.CreateDirectory(masks);
        int pixels = volume.SizeX * volume.SizeY;
        var mask = new float[pixels];
        mask[pixels / 2] = 1;
        for (int z = 0; z < volume.SizeZ; z++)
        {
            var slice = NiftiImage.Create(volume.SizeX, volume.SizeY, 1, 1, 1, 3, volume.ScaledSlice(z), NiftiDataType.Float32);
            slice.Header.SRowX = xRow;
            slice.Write(Path.Combine(images, $"T2W_vol0000_slice{z:D2}.nii.gz"));
            var maskSlice = NiftiImage.Create(volume.SizeX, volume.SizeY, 1, 1, 1, 3, mask, NiftiDataType.UInt8);
            maskSlice.Header.SRowX = xRow;
            maskSlice.Write(Path.Combine(masks, $"T2W_vol0000_slice{z:D2}_mask.nii.gz"));
        }
    }
}
