using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Imaging;
using GreenSeg.Review;
using GreenSeg.Training;

namespace GreenSeg.CrossValidation;

/// <summary>
/// OUT/review.html of a cross-validation: every held-out stack reassembled from its slices, with the fold's
/// prediction (OUT/folds/&lt;fold&gt;/predictions) and the reference outlined, its fold, Dice, HD95 and flags.
/// </summary>
public static class CrossValidationReview
{
    public static ReviewResult Write(CrossValidationResults results, string? folder = null, ReviewOptions? options = null)
    {
        string data = TrainingOptions.ParseWritten(results.OptionsYaml, Path.Combine(results.Folder, CrossValidationStore.FileName)).Data;
        // Without its data (moved, or another machine) the page still lists every stack's scores, each row saying why it has no mosaic.
        Dictionary<string, TrainingStack> stacks = [];
        string? missing = null;
        // A copy of the database alone (docs/crossval keeps only crossval.db) has no predictions to show: its data is not read.
        string folds = Path.Combine(results.Folder, CrossValidationRunner.FoldsFolderName);
        if (!Directory.Exists(folds)) missing = $"no fold predictions beside the database ({folds} not found)";
        else
            try
            {
                stacks = DatasetReader.Open(data).TrainingStacks.ToDictionary(s => s.Id, StringComparer.Ordinal);
            }
            catch (InvalidInputException e)
            {
                missing = $"the cross-validation's data cannot be read ({e.Path}: {e.Problem})";
            }
        var cases = results.Stacks.Select(score => new ReviewCase(score.Stack, missing is null ? () => Load(results.Folder, score, stacks) : null)
        {
            Error = missing,
            Group = score.Fold,
            Dice = score.Dice,
            Hd95Mm = score.Hd95Mm,
            LargeComponentsBeforePostProcessing = score.RawComponents,
        });
        return ReviewWriter.Write(folder ?? results.Folder, $"GreenSeg cross-validation review (folds: {results.Folds})", cases, options);
    }

    private static ReviewVolumes Load(string folder, StackScore score, Dictionary<string, TrainingStack> stacks)
    {
        string predictions = Path.Combine(folder, CrossValidationRunner.FoldsFolderName, score.Fold, CrossValidationRunner.PredictionsFolderName);
        // A fold scored by an earlier run whose folder is gone (resumed from a copied database) has scores but no masks.
        if (!Directory.Exists(predictions))
            throw new InvalidInputException(predictions, $"not found: {score.Fold} was scored without its predictions being kept here (resumed from a copy of the database?)");
        string predictionPath = Path.Combine(predictions, CrossValidationRunner.PredictionFileName(score.Stack));
        if (!stacks.TryGetValue(score.Stack, out var stack))
            throw new InvalidInputException(predictionPath, $"stack {score.Stack} is no longer in the cross-validation's data");
        var assembled = StackVolume.Assemble(stack);
        var prediction = NiftiImage.Read(predictionPath);
        if (!prediction.Grid.SameShape(assembled.Image.Grid))
            throw new InvalidInputException(predictionPath, $"does not have the shape of stack {score.Stack} as reassembled from its slices");
        return new ReviewVolumes(assembled.Image.Grid, assembled.Image.Scaled(), prediction.BinaryMask(), assembled.MaskVoxels);
    }
}
