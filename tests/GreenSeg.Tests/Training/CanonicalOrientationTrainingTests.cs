using System.Text.Json;
using GreenSeg.Cli.Commands;
using GreenSeg.Data;
using GreenSeg.Imaging;
using GreenSeg.Models;
using GreenSeg.Tests.Transforms;
using GreenSeg.Training;
using GreenSeg.Transforms;

namespace GreenSeg.Tests.Training;

/// <summary>The canonical-orientation switch on the training side: options, the prepared samples, and the manifest.</summary>
public sealed class CanonicalOrientationTrainingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-canonical-orientation-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Prepared_samples_of_a_transposed_and_mirrored_stack_equal_the_reference_stacks_when_on()
    {
        var reference = new OrientedVolume(0, 0);
        // i along -y, j along +x, k along -z: slice k is reference slice 6 - k, transposed and mirrored.
        var stored = new OrientedVolume([1, 0, 2], [true, false, true]);
        var referenceSlices = Write(reference, "reference");
        var storedSlices = Write(stored, "stored");
        var options = new TrainingOptions { Preprocessing = new() { Size = 16, Spacing = 0.5, CanonicalOrientation = true } };
        var canonical = SamplePreparation.Create(options);
        var asStored = SamplePreparation.Create(options.WithPreprocessing(p => p with { CanonicalOrientation = false }));

        var reader = new SliceReader();
        bool anyDifferentAsStored = false;
        for (int z = 0; z < reference.Size[2]; z++)
        {
            RawSlice referenceSlice = reader.Read(referenceSlices[z]);
            RawSlice storedSlice = reader.Read(storedSlices[reference.Size[2] - 1 - z]);
            var expected = canonical.Prepare(referenceSlice);
            var actual = canonical.Prepare(storedSlice);
            actual.Image.ShouldBe(expected.Image);
            actual.Mask.ShouldBe(expected.Mask);
            expected.Mask.ShouldContain((byte)1);
            anyDifferentAsStored |= !asStored.Prepare(storedSlice).Image.SequenceEqual(asStored.Prepare(referenceSlice).Image);
        }
        anyDifferentAsStored.ShouldBeTrue();
        canonical.Fingerprint.ShouldNotBe(asStored.Fingerprint);
    }

    [Fact]
    public void A_raw_slice_turns_image_mask_size_and_spacing_together()
    {
        var raw = new RawSlice([1, 2, 3, 4, 5, 6], [0, 1, 0, 0, 1, 1], 3, 2, 0.5, 2.0, new InPlaneOrientation(Transpose: true, FlipX: false, FlipY: true));

        var turned = raw.InCanonicalOrientation();

        // Stored rows (1 2 3) and (4 5 6); transposed, the rows are the stored columns (1 4) (2 5) (3 6), and FlipY reverses their order.
        (turned.Width, turned.Height, turned.SpacingX, turned.SpacingY, turned.Orientation).ShouldBe((2, 3, 2.0, 0.5, InPlaneOrientation.Identity));
        turned.Image.ShouldBe([3f, 6f, 2f, 5f, 1f, 4f]);
        turned.Mask.ShouldBe(new byte[] { 0, 1, 1, 1, 0, 0 });
        (raw with { Mask = null }).InCanonicalOrientation().Mask.ShouldBeNull();
        var identity = raw with { Orientation = InPlaneOrientation.Identity };
        identity.InCanonicalOrientation().ShouldBeSameAs(identity);
    }

    [Fact]
    public void The_option_is_off_by_default_and_set_by_yaml_or_the_cli_flag()
    {
        new TrainingOptions().Preprocessing.CanonicalOrientation.ShouldBeFalse();
        new TrainingOptions().ToYaml().ShouldContain("canonical-orientation: false");
        TrainingOptions.Parse("data: d\ncanonical-orientation: true\n", "test.yaml").Preprocessing.CanonicalOrientation.ShouldBeTrue();
        new TrainSettings { Data = "d" }.Resolve().Preprocessing.CanonicalOrientation.ShouldBeFalse();
        new TrainSettings { Data = "d", CanonicalOrientation = true }.Resolve().Preprocessing.CanonicalOrientation.ShouldBeTrue();

        string config = Path.Combine(_folder, "run.yaml");
        File.WriteAllText(config, "data: d\ncanonical-orientation: true\n");
        new TrainSettings { Config = config }.Resolve().Preprocessing.CanonicalOrientation.ShouldBeTrue();
    }

    [Fact]
    public void The_manifest_records_it_and_an_older_manifest_without_it_loads_with_it_off()
    {
        string folder = Path.Combine(_folder, "checkpoint");
        Directory.CreateDirectory(folder);
        using (var model = ModelRegistry.Create("micronet"))
            ModelWeights.Save(model, Path.Combine(folder, CheckpointManifest.WeightsFileName));

        new CheckpointManifest { Model = "micronet", Spacing = 1, Size = 32, CanonicalOrientation = true }.Save(folder);
        CheckpointManifest.Locate(folder).Manifest.CanonicalOrientation.ShouldBeTrue();

        // model.json as written before the option existed.
        var old = JsonSerializer.Serialize(new { Model = "micronet", ModelWidth = (int?)null, InChannels = 1, OutChannels = 1, Spacing = 1.0, Size = 32, Epoch = 3, ValidationDice = 0.9, TrainedWith = "novograd, bf16-mixed" });
        File.WriteAllText(Path.Combine(folder, CheckpointManifest.FileName), old);
        var manifest = CheckpointManifest.Locate(folder).Manifest;
        manifest.CanonicalOrientation.ShouldBeFalse();
        manifest.Epoch.ShouldBe(3);
    }

    /// <summary>Image and mask files of one storage; the mask picks an asymmetric third of the voxels.</summary>
    private List<SliceRef> Write(OrientedVolume volume, string name)
    {
        string image = Path.Combine(_folder, $"{name}.nii.gz"), mask = Path.Combine(_folder, $"{name}_mask.nii.gz");
        volume.ToNifti(volume.Values, NiftiDataType.Float32).Write(image);
        volume.ToNifti(volume.Values.Select(v => v % 3 == 0 ? 1f : 0f).ToArray(), NiftiDataType.UInt8).Write(mask);
        return Enumerable.Range(0, volume.Size[2]).Select(z => new SliceRef(image, mask, z)).ToList();
    }
}
