using GreenSeg.Transforms;
using GreenSeg.Common;
using GreenSeg.CrossValidation;
using GreenSeg.Models;
using GreenSeg.Tests.Training;
using GreenSeg.Training;

namespace GreenSeg.Tests.CrossValidation;

[Collection(nameof(SerialTorch))]
public sealed class CrossValidationRunnerTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("greenseg-crossval-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private CrossValidationOptions Options(string folds = "sequence", int epochs = 1) => new()
    {
        Data = phantom.Root,
        Folds = FoldSpec.Parse(folds),
        OutputFolder = _out,
        Training = new TrainingOptions
        {
            Model = "micronet",
            Preprocessing = new() { Size = 32, Spacing = 8 },
            Schedule = new() { Epochs = epochs },
            Optimisation = new() { LearningRate = "3e-3" },
            Compute = new() { Precision = PrecisionChoice.Fp32, ChannelsLast = false, Threads = 2 },
        },
    };

    private sealed class Recorder : ICrossValidationObserver
    {
        public List<string> Events { get; } = [];
        public ITrainingObserver Training => SilentObserver.Instance;
        public void FoldStarting(Fold fold, int count, FoldStart start) => Events.Add(start == FoldStart.ScoringOnly ? $"score only {fold.Name}" : $"start {fold.Name}");
        public void FoldSkipped(Fold fold, int count) => Events.Add($"skip {fold.Name}");
        public void StackScored(Fold fold, StackScore score) => Events.Add($"score {score.Stack}");
        public void FoldScored(Fold fold, int count, CrossValidationResults soFar) =>
            Events.Add($"scored {fold.Name}: {soFar.FoldResults.Count} of {count} folds, {soFar.Stacks.Count} stacks");
    }

    [Fact]
    public void EveryStackIsScoredOnceByAFoldThatNeverTrainedOnItAndARerunSkipsFinishedFolds()
    {
        var first = new Recorder();
        var results = CrossValidationRunner.Run(Options(), first);

        // The phantom has one stack of each sequence: leave one sequence out gives three folds.
        results.FoldResults.Count.ShouldBe(3);
        results.Stacks.Select(s => s.Stack).ShouldBe(["DWI_vol0000", "FMRI_vol0000", "T2W_vol0000"]);
        foreach (var fold in results.FoldResults)
        {
            fold.TrainStacks.Intersect(fold.TestStacks).ShouldBeEmpty();
            fold.Epochs.ShouldBe(1);
            fold.TrainingKj.ShouldBeGreaterThan(0);
            // Each fold's model is a final run: it trained on exactly the other stacks.
            TrainingOptions.Load(Path.Combine(fold.RunFolder, "config.yaml")).Stacks.ShouldBe(fold.TrainStacks);
            foreach (string stack in fold.TestStacks)
                File.Exists(Path.Combine(fold.RunFolder, "predictions", $"{stack}_maskpred.nii.gz")).ShouldBeTrue();
        }
        results.Stacks.ShouldAllBe(s => s.Dice >= 0 && s.Dice <= 1 && s.TruthMl > 0 && s.RawDice != null && s.RawDice >= 0 && s.RawDice <= 1 && s.RawComponents >= 0);
        // Every component selection scored on the same prediction; the one the recipe carries (large by default) is the stack's Dice.
        results.Stacks.ShouldAllBe(s => s.ByComponents != null && s.ByComponents.Large == s.Dice && s.ByComponents.All >= 0 && s.ByComponents.Largest >= 0);
        // Once every fold is scored, the review page shows each held-out stack with both outlines.
        var review = results.Review.ShouldNotBeNull();
        review.Rows.Select(r => (r.Name, r.Case.Group, r.Error)).ShouldBe(results.Stacks.Select(s => (s.Stack, (string?)s.Fold, (string?)null)));
        review.Rows.ShouldAllBe(r => r.ReferenceMl > 0 && File.Exists(Path.Combine(review.MosaicFolder, r.MosaicFile!)));
        review.PagePath.ShouldBe(Path.Combine(results.Folder, "review.html"));
        first.Events.Count(e => e.StartsWith("start")).ShouldBe(3);
        // After each fold, the results so far: every fold recorded up to it.
        first.Events.Where(e => e.StartsWith("scored")).ShouldBe(
            ["scored DWI: 1 of 3 folds, 1 stacks", "scored FMRI: 2 of 3 folds, 2 stacks", "scored T2W: 3 of 3 folds, 3 stacks"]);

        var second = new Recorder();
        var again = CrossValidationRunner.Run(Options(), second);
        second.Events.ShouldBe(["skip DWI", "skip FMRI", "skip T2W"]);
        again.MeanDice.ShouldBe(results.MeanDice);

        string report = File.ReadAllText(again.WriteReport());
        report.ShouldContain("| DWI | 1 |");
        report.ShouldContain("| components | mean Dice | DWI | FMRI | T2W | worst stack |");
        report.ShouldContain("FMRI_vol0000");

        // With its data gone, the review still lists every stack's scores and says why there is no mosaic.
        var moved = again with { OptionsYaml = again.OptionsYaml.Replace(Path.GetFullPath(phantom.Root), "/nowhere/data") };
        var orphan = CrossValidationReview.Write(moved, Path.Combine(_out, "moved"));
        orphan.Rows.Select(r => r.Name).ShouldBe(again.Stacks.Select(s => s.Stack));
        orphan.Rows.ShouldAllBe(r => r.Error!.Contains("cannot be read") && r.Case.Dice != null && r.MosaicPng == null);

        // The database copied alone (as docs/crossval keeps it): one reason for every stack, no per-file errors.
        string copy = Path.Combine(_out, "database-only");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(_out, CrossValidationStore.FileName), Path.Combine(copy, CrossValidationStore.FileName));
        var alone = CrossValidationReview.Write(CrossValidationResults.Load(copy));
        alone.Rows.Select(r => r.Error).Distinct().ShouldBe([$"no fold predictions beside the database ({Path.Combine(copy, CrossValidationRunner.FoldsFolderName)} not found)"]);

        // One fold scored by a run whose folder is gone (resumed from a copied database): its stacks say so, in one reason, the others show.
        string dwiPredictions = Path.Combine(_out, CrossValidationRunner.FoldsFolderName, "DWI", CrossValidationRunner.PredictionsFolderName);
        Directory.Move(dwiPredictions, dwiPredictions + "-gone");
        var partial = CrossValidationReview.Write(again, Path.Combine(_out, "partial"));
        partial.Rows.Where(r => r.Case.Group == "DWI").ShouldAllBe(r => r.Error == $"{dwiPredictions}: not found: DWI was scored without its predictions being kept here (resumed from a copy of the database?)");
        partial.Rows.Where(r => r.Case.Group != "DWI").ShouldAllBe(r => r.Error == null && r.MosaicPng != null);
    }

    [Fact]
    public void AFoldStoppedAfterTrainingIsScoredWithoutTrainingAgain()
    {
        var folds = CrossValidationRunner.Plan(Options()).Folds;
        // As if killed after fold DWI's training ended and before it was scored: its run folder is complete.
        var recipe = CrossValidationRunner.Plan(Options()).Recipe with { Stacks = folds[0].Train.Select(s => s.Id).ToList() };
        Trainer.Train(recipe, Path.Combine(_out, CrossValidationRunner.FoldsFolderName, folds[0].Name));

        var recorder = new Recorder();
        var results = CrossValidationRunner.Run(Options(), recorder);

        recorder.Events[0].ShouldBe("start DWI");
        results.FoldResults.Count.ShouldBe(3);
        Directory.GetFiles(Path.Combine(_out, CrossValidationRunner.FoldsFolderName, "DWI"), "train.log").ShouldHaveSingleItem();
        File.ReadAllLines(Path.Combine(_out, CrossValidationRunner.FoldsFolderName, "DWI", "train.log")).Count(l => l.Contains("training micronet")).ShouldBe(1);
    }

    /// <summary>Scores the fold models of the cross-validation in _out into <paramref name="folder"/>.</summary>
    private CrossValidationOptions ModelsFromOut(string folder, GreenSeg.Inference.SegmentOptions? segmentation = null) => new()
    {
        Data = "",
        Folds = FoldSpec.Parse("5"),
        OutputFolder = Path.Combine(_out, folder),
        ModelsFrom = _out,
        Segmentation = segmentation ?? new(),
    };

    [Fact]
    public void AnotherCrossValidationsFoldModelsAreScoredWithItsDataFoldsAndRecipeWithoutTraining()
    {
        var source = CrossValidationRunner.Run(Options());

        var recorder = new Recorder();
        var rescored = CrossValidationRunner.Run(ModelsFromOut("rescored"), recorder);

        // Its folds (leave one sequence out, not the 5 the options name), its models, its training energy; the same masks.
        rescored.Folds.ShouldBe(source.Folds);
        rescored.FoldResults.Select(f => (f.Name, f.RunFolder, f.TrainingKj, f.Epochs)).ShouldBe(source.FoldResults.Select(f => (f.Name, f.RunFolder, f.TrainingKj, f.Epochs)));
        rescored.Stacks.Select(s => (s.Stack, s.Dice, s.PredictedMl)).ShouldBe(source.Stacks.Select(s => (s.Stack, s.Dice, s.PredictedMl)));
        recorder.Events.Count(e => e.StartsWith("score only")).ShouldBe(3);
        recorder.Events.ShouldNotContain(e => e.StartsWith("start"));
        foreach (var fold in rescored.FoldResults)
        {
            string folder = Path.Combine(_out, "rescored", CrossValidationRunner.FoldsFolderName, fold.Name);
            Directory.Exists(Path.Combine(folder, "checkpoints")).ShouldBeFalse("nothing trained");
            foreach (string stack in fold.TestStacks) File.Exists(Path.Combine(folder, "predictions", $"{stack}_maskpred.nii.gz")).ShouldBeTrue();
        }
        rescored.Review.ShouldNotBeNull().Rows.ShouldAllBe(r => r.Error == null);

        // Other segmentation options are another cross-validation: resuming this one with them is refused.
        Should.Throw<InvalidInputException>(() => CrossValidationRunner.Run(ModelsFromOut("rescored", new() { Tta = GreenSeg.Inference.TestTimeAugmentation.Flips })))
            .Message.ShouldContain("whose held-out stacks were segmented otherwise (stored: --views stored --tta left-right --threshold 0.5; asked: --views stored --tta flips --threshold 0.5)");
        var flipped = CrossValidationRunner.Run(ModelsFromOut("with-tta", new() { Tta = GreenSeg.Inference.TestTimeAugmentation.Flips, Views = GreenSeg.Inference.SegmentationViews.ThreePlanes }));
        flipped.Stacks.Count.ShouldBe(3);
        // The report says how its stacks were segmented, read back from the store.
        CrossValidationResults.Load(Path.Combine(_out, "with-tta")).ToMarkdown().ShouldContain("(`--views three-planes --tta flips --threshold 0.5`)");
    }

    [Fact]
    public void ModelsFromAFolderThatIsNoCrossValidationOrHasNotFinishedAreRefused()
    {
        Should.Throw<InvalidInputException>(() => CrossValidationRunner.Run(ModelsFromOut("rescored")))
            .Message.ShouldContain("holds no crossval.db");

        using var stop = new CancellationTokenSource();
        var stopAfterFirstFold = new StoppingRecorder(stop);
        CrossValidationRunner.Run(Options(), stopAfterFirstFold, stop.Token).FoldResults.Count.ShouldBe(1);

        Should.Throw<InvalidInputException>(() => CrossValidationRunner.Run(ModelsFromOut("rescored")))
            .Message.ShouldContain("has not finished fold FMRI");
    }

    private sealed class StoppingRecorder(CancellationTokenSource stop) : ICrossValidationObserver
    {
        public ITrainingObserver Training => SilentObserver.Instance;
        public void FoldStarting(Fold fold, int count, FoldStart start) { }
        public void FoldSkipped(Fold fold, int count) { }
        public void StackScored(Fold fold, StackScore score) => stop.Cancel();
        public void FoldScored(Fold fold, int count, CrossValidationResults soFar) { }
    }

    [Fact]
    public void ResumingWithOtherOptionsIsRefused()
    {
        CrossValidationRunner.Run(Options("sequence"));

        Should.Throw<InvalidInputException>(() => CrossValidationRunner.Run(Options("sequence", epochs: 2)))
            .Message.ShouldContain("other data, folds or options");
    }

    [Fact]
    public void APlanWrittenBeforeWeightAveragingExistedAsksForTheLastStepsWeights()
    {
        var options = Options();
        var (folds, recipe) = CrossValidationRunner.Plan(options);
        string lastStep = CrossValidationRunner.Describe(options, recipe.WithOptimisation(o => o with { EmaDecay = 0 }), folds);
        string averaged = CrossValidationRunner.Describe(options, recipe.WithOptimisation(o => o with { EmaDecay = 0.995 }), folds);
        string earlier = lastStep.Replace("  ema-decay: 0\n", "");
        earlier.ShouldNotBe(lastStep);
        CrossValidationRunner.SamePlan(earlier, lastStep).ShouldBeTrue();
        CrossValidationRunner.SamePlan(earlier, averaged).ShouldBeFalse();
    }

    [Fact]
    public void APlanWrittenBeforeTestTimeAugmentationHadModesReadsItsSwitch()
    {
        var options = Options();
        var (folds, recipe) = CrossValidationRunner.Plan(options);
        string Plan(GreenSeg.Inference.TestTimeAugmentation tta) => CrossValidationRunner.Describe(options with { Segmentation = options.Segmentation with { Tta = tta } }, recipe, folds);
        string none = Plan(GreenSeg.Inference.TestTimeAugmentation.None), leftRight = Plan(GreenSeg.Inference.TestTimeAugmentation.LeftRight);
        string off = none.Replace("\"Tta\":0", "\"FlipTta\":false"), on = none.Replace("\"Tta\":0", "\"FlipTta\":true");
        off.ShouldNotBe(none);

        CrossValidationRunner.SamePlan(off, none).ShouldBeTrue();
        CrossValidationRunner.SamePlan(on, leftRight).ShouldBeTrue();
        CrossValidationRunner.SamePlan(none.Replace("\"Tta\":0,", ""), none).ShouldBeTrue("before the switch: no augmentation");
        // Today's default is left-right: a plan that did none is not resumed with it, and the refusal says how to resume.
        CrossValidationRunner.PlanDifference(off, leftRight).ShouldBe(
            "whose held-out stacks were segmented otherwise (stored: --views stored --tta none --threshold 0.5; asked: --views stored --tta left-right --threshold 0.5)");
        CrossValidationRunner.PlanSegmentation(on).ShouldNotBeNull().Tta.ShouldBe(GreenSeg.Inference.TestTimeAugmentation.LeftRight);
        CrossValidationRunner.PlanSegmentation("folds 5\nfold1: test a").ShouldBeNull();
    }

    [Fact]
    public void APlanWrittenByAnEarlierGreenSegResumesWhenItAsksForTheSame()
    {
        var options = Options();
        var (folds, planned) = CrossValidationRunner.Plan(options);
        // The only post-processing an earlier GreenSeg had: the largest component.
        var recipe = planned with { Postprocessing = planned.Postprocessing with { Components = ComponentSelection.Largest } };
        string current = CrossValidationRunner.Describe(options, recipe, folds);
        // As an earlier GreenSeg wrote it: post-processing given (as a switch), not left to the models, and no key for an option added since.
        string earlier = System.Text.RegularExpressions.Regex.Replace(current, "\"PostProcessing\":null",
            "\"PostProcessing\":{\"KeepLargestComponent\":true,\"FillHoles\":1,\"Connectivity\":26}")
            .Replace("  multi-planar: 0\n", "").Replace("postprocessing:\n  components: largest\n  min-component-share: 0.1\n", "");
        earlier.ShouldNotBe(current);
        CrossValidationRunner.SamePlan(earlier, current).ShouldBeTrue();
        // And before the options had sections: every key at the top level.
        string yaml = recipe.ToYaml().Replace("  multi-planar: 0\n", "").Replace("postprocessing:\n  components: largest\n  min-component-share: 0.1\n", "");
        string flatPlan = earlier.Replace(yaml, GreenSeg.Tests.Training.ConfigSectionsTests.Flat(yaml));
        flatPlan.ShouldContain("\nepochs: 1\n");
        CrossValidationRunner.SamePlan(flatPlan, current).ShouldBeTrue();
        CrossValidationRunner.SamePlan(flatPlan.Replace("\nepochs: 1\n", "\nepochs: 2\n"), current).ShouldBeFalse();

        string otherEpochs = CrossValidationRunner.Describe(options, recipe.WithSchedule(s => s with { Epochs = s.Epochs + 1 }), folds);
        CrossValidationRunner.SamePlan(earlier, otherEpochs).ShouldBeFalse();
        CrossValidationRunner.SamePlan(earlier.Replace("DWI: test ", "DWI: test X,"), current).ShouldBeFalse();
        // Post-processing other than the recipe's is another plan.
        string large = CrossValidationRunner.Describe(options with { Segmentation = options.Segmentation with { PostProcessing = PostProcessingOptions.Default with { Components = ComponentSelection.Large } } }, recipe, folds);
        CrossValidationRunner.SamePlan(large, current).ShouldBeFalse();
        CrossValidationRunner.SamePlan(earlier, large).ShouldBeFalse();
    }
}
