using GreenSeg.Common;
using GreenSeg.Evaluation;
using GreenSeg.Imaging;
using GreenSeg.Inference;

namespace GreenSeg.Review;

/// <summary>The stacks of a segmentation batch or an evaluation as <see cref="ReviewCase"/>s, read from their files when drawn.</summary>
public static class ReviewSources
{
    /// <summary>
    /// Every stack of a batch: its input image and written mask, and, when an evaluation of the batch's masks is
    /// given, the reference it was scored against with its Dice and HD95.
    /// </summary>
    public static IEnumerable<ReviewCase> ForSegmentation(BatchSegmentationResult batch, EvaluationReport? evaluation = null)
    {
        var scored = evaluation?.Cases.ToDictionary(c => Path.GetFullPath(c.Files.PredictionPath), StringComparer.Ordinal) ?? [];
        foreach (var outcome in batch.Stacks)
        {
            var job = outcome.Job;
            if (!outcome.Succeeded)
            {
                yield return new ReviewCase(job.Name, null) { Error = outcome.Error };
                continue;
            }
            var result = scored.GetValueOrDefault(Path.GetFullPath(job.MaskPath));
            yield return new ReviewCase(job.Name, () => Read(job.InputPath, job.MaskPath, result?.Metrics is null ? null : result.Files.TruthPath))
            {
                Dice = result?.Metrics?.Dice,
                Hd95Mm = result?.Metrics?.Hd95Mm,
                LargeComponentsBeforePostProcessing = outcome.LargeComponentsBeforePostProcessing,
            };
        }
    }

    /// <summary>
    /// Every evaluated case: prediction and reference, with the image of the same case name from
    /// <paramref name="imageFolder"/> when given (else the masks are drawn on black).
    /// </summary>
    public static IEnumerable<ReviewCase> ForEvaluation(EvaluationReport report, string? imageFolder = null)
    {
        var images = imageFolder is null ? [] : ImagesByCaseName(imageFolder);
        foreach (var result in report.Cases)
        {
            if (!result.Succeeded)
            {
                yield return new ReviewCase(result.Name, null) { Error = result.Error };
                continue;
            }
            string? image = images.GetValueOrDefault(result.Name);
            yield return new ReviewCase(result.Name, () => Read(image, result.Files.PredictionPath, result.Files.TruthPath))
            {
                Dice = result.Metrics!.Dice,
                Hd95Mm = result.Metrics.Hd95Mm,
            };
        }
    }

    /// <summary>The NIfTI files of a folder by case name (<see cref="CaseMatching.CaseName"/>); the first of two with one name is kept.</summary>
    public static Dictionary<string, string> ImagesByCaseName(string folder)
    {
        if (!Directory.Exists(folder)) throw new InvalidInputException(folder, "image folder not found");
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in NiftiFiles.InFolder(folder).Order(StringComparer.Ordinal))
            byName.TryAdd(CaseMatching.CaseName(path), path);
        return byName;
    }

    /// <summary>Reads a mask and, when given, the image and reference on its grid; a file of another shape is an error naming it.</summary>
    public static ReviewVolumes Read(string? imagePath, string predictionPath, string? referencePath)
    {
        var prediction = NiftiImage.Read(predictionPath);
        VoxelGrid grid = prediction.Grid;
        float[]? image = null;
        if (imagePath is not null)
        {
            var stack = NiftiImage.Read(imagePath);
            RequireShape(stack, grid, imagePath, predictionPath);
            image = stack.Scaled();
        }
        byte[]? reference = null;
        if (referencePath is not null)
        {
            var truth = NiftiImage.Read(referencePath);
            RequireShape(truth, grid, referencePath, predictionPath);
            reference = truth.BinaryMask();
        }
        return new ReviewVolumes(grid, image, prediction.BinaryMask(), reference);
    }

    private static void RequireShape(NiftiImage image, VoxelGrid grid, string path, string predictionPath)
    {
        if (!image.Grid.SameShape(grid))
            throw new InvalidInputException(path, $"is {image.SizeX}x{image.SizeY}x{image.SizeZ} voxels but the mask {Path.GetFileName(predictionPath)} is {grid.SizeX}x{grid.SizeY}x{grid.SizeZ}");
    }
}
