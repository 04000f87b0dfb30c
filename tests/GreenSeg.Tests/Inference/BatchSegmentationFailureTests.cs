using GreenSeg.Energy;
using GreenSeg.Imaging;
using GreenSeg.Inference;

namespace GreenSeg.Tests.Inference;

/// <summary>A stack that fails while its outputs are written leaves none of them behind.</summary>
public sealed class BatchSegmentationFailureTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-segment-failure-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_mask_written_before_its_probability_map_failed_is_removed()
    {
        string model = TinyModel.UntrainedCheckpoint(Path.Combine(_root, "model"));
        string image = Path.Combine(_root, "a.nii.gz");
        NiftiImage.Create(16, 16, 3, 1, 1, 3, new float[16 * 16 * 3], NiftiDataType.Float32).Write(image);
        string output = Path.Combine(_root, "out");
        // A folder where the probability map should go: writing it fails after the mask was written.
        Directory.CreateDirectory(Path.Combine(output, "a_prob.nii.gz"));
        var plan = BatchSegmentation.Plan([image], new SegmentationOutput { Folder = output, Probabilities = true });

        var result = BatchSegmentation.Run(model, plan, new SegmentOptions { Precision = InferencePrecision.Fp32 }, new EnergyOptions());

        result.Stacks.Single().Succeeded.ShouldBeFalse();
        File.Exists(Path.Combine(output, "a_mask.nii.gz")).ShouldBeFalse();
    }
}
