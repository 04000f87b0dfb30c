using GreenSeg.Common;
using GreenSeg.CrossValidation;
using GreenSeg.Training;
using GreenSeg.Transforms;
using Microsoft.Data.Sqlite;

namespace GreenSeg.Tests.CrossValidation;

public sealed class CrossValidationComparisonTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-cvcompare-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    private static readonly string[] AllStacks = ["DWI_vol0000", "DWI_vol0001", "FMRI_vol0000", "T2W_vol0000"];

    /// <summary>A cross-validation folder holding one fold per (test stacks) group, each trained on the other stacks.</summary>
    private string Write(string name, TrainingOptions recipe, IReadOnlyDictionary<string, double> dice, params string[][] folds) =>
        Write(name, recipe, dice, byComponents: null, folds);

    private string Write(string name, TrainingOptions recipe, IReadOnlyDictionary<string, double> dice,
        IReadOnlyDictionary<string, ComponentDices>? byComponents, params string[][] folds)
    {
        string folder = Path.Combine(_root, name);
        using var store = CrossValidationStore.Open(folder);
        store.SetMeta("folds", "5");
        store.SetMeta("options", recipe.ToYaml());
        for (int i = 0; i < folds.Length; i++)
        {
            string fold = $"fold{i + 1}";
            var scores = folds[i].Select(s => new StackScore(fold, s, s[..s.IndexOf('_')], 20, dice[s], 5, 1, 100, 110,
                ByComponents: byComponents?[s])).ToList();
            store.Record(new FoldResult(fold, i, [.. AllStacks.Except(folds[i])], folds[i], $"/runs/{fold}", 25, 40 + i, 0.1, true, 600, scores));
        }
        return folder;
    }

    private static Dictionary<string, double> Dice(double dwi0, double dwi1, double fmri, double t2w) => new()
    {
        ["DWI_vol0000"] = dwi0, ["DWI_vol0001"] = dwi1, ["FMRI_vol0000"] = fmri, ["T2W_vol0000"] = t2w,
    };

    [Fact]
    public void EachCandidateIsPairedWithTheReferenceStackByStack()
    {
        var recipe = new TrainingOptions();
        string reference = Write("default", recipe, Dice(0.8, 0.5, 0.6, 0.1), ["DWI_vol0000", "T2W_vol0000"], ["DWI_vol0001", "FMRI_vol0000"]);
        string wider = Write("wider", recipe with { ModelWidth = 32 }, Dice(0.9, 0.6, 0.7, 0.2), ["DWI_vol0000", "T2W_vol0000"], ["DWI_vol0001", "FMRI_vol0000"]);
        // The same recipe run from another checkout: where it read and wrote is not the recipe.
        string otherFolds = Write("other-folds", recipe with { Data = "/elsewhere/e2mip-fetal", Output = "/elsewhere/runs" }, Dice(0.8, 0.505, 0.3, 0.1),
            ["DWI_vol0000", "FMRI_vol0000"], ["DWI_vol0001", "T2W_vol0000"]);

        var comparison = CrossValidationComparison.Load([reference, wider, otherFolds]);

        comparison.Labels.ShouldBe(["default", "wider", "other-folds"]);
        var widerVsDefault = comparison.Candidates[0];
        widerVsDefault.SharedStacks.ShouldBe(4);
        widerVsDefault.SameFolds.ShouldBeTrue();
        widerVsDefault.Differences.MeanDifference.ShouldBe(0.1, 1e-12);
        (widerVsDefault.Differences.Better, widerVsDefault.Differences.Worse).ShouldBe((4, 0));
        widerVsDefault.Differences.PValue.ShouldBe(2.0 / 16, 1e-12);
        widerVsDefault.RecipeDifferences.ShouldBe([("model-width", "16", "32")]);

        var shuffled = comparison.Candidates[1];
        shuffled.SameFolds.ShouldBeFalse();
        (shuffled.Differences.Better, shuffled.Differences.Worse, shuffled.Differences.Within).ShouldBe((0, 1, 3));
        shuffled.RecipeDifferences.ShouldBeEmpty();

        comparison.Stacks.Single(s => s.Stack == "FMRI_vol0000").Dice.ShouldBe([0.6, 0.7, 0.3]);
        string markdown = comparison.ToMarkdown();
        markdown.ShouldContain("| wider | 4 | yes | +0.100 | +0.100 to +0.100 | 4 / 0 / 0 | 0.125 |");
        markdown.ShouldContain("`model-width` 16 → 32");
        markdown.ShouldContain("| FMRI_vol0000 | 0.600 | 0.700 (+0.100) | 0.300 (-0.300) |");
    }

    [Fact]
    public void AnOptionOneRecipeLeavesUnsetReadsUnsetInItsDifference()
    {
        var recipe = new TrainingOptions();
        string reference = Write("default", recipe, Dice(0.8, 0.5, 0.6, 0.1), ["DWI_vol0000", "T2W_vol0000"], ["DWI_vol0001", "FMRI_vol0000"]);
        string unsetWidth = Write("unset-width", recipe with { ModelWidth = null }, Dice(0.7, 0.5, 0.6, 0.1), ["DWI_vol0000", "T2W_vol0000"], ["DWI_vol0001", "FMRI_vol0000"]);

        var comparison = CrossValidationComparison.Load([reference, unsetWidth]);

        comparison.Candidates[0].RecipeDifferences.ShouldBe([("model-width", "16", "unset")]);
        comparison.ToMarkdown().ShouldContain("`model-width` 16 → unset");
    }

    [Fact]
    public void StacksOnlyOneOfThemTestedAreShownButNotPaired()
    {
        var recipe = new TrainingOptions();
        string reference = Write("all", recipe, Dice(0.8, 0.5, 0.6, 0.1), ["DWI_vol0000", "DWI_vol0001"], ["FMRI_vol0000", "T2W_vol0000"]);
        string partial = Write("partial", recipe, Dice(0.7, 0.5, 0.6, 0.1), ["DWI_vol0000", "DWI_vol0001"]);

        var comparison = CrossValidationComparison.Load([reference, partial]);

        comparison.Candidates[0].SharedStacks.ShouldBe(2);
        comparison.Stacks.Single(s => s.Stack == "T2W_vol0000").Dice.ShouldBe([0.1, null]);
        comparison.ToMarkdown().ShouldContain("| T2W_vol0000 | 0.100 | - |");
    }

    [Fact]
    public void CrossValidationsOfDifferentDataAreRefusedNamingTheFolder()
    {
        var recipe = new TrainingOptions();
        string reference = Write("dwi", recipe, Dice(0.8, 0.5, 0.6, 0.1), ["DWI_vol0000", "DWI_vol0001"]);
        string other = Write("t2w", recipe, Dice(0.8, 0.5, 0.6, 0.1), ["T2W_vol0000"]);

        var error = Should.Throw<InvalidInputException>(() => CrossValidationComparison.Load([reference, other]));
        error.Message.ShouldContain(other);
        error.Message.ShouldContain("held out no stack");
    }

    [Fact]
    public void FoldersWithTheSameNameAreLabelledByTheirPaths()
    {
        var recipe = new TrainingOptions();
        string first = Write(Path.Combine("a", "cv"), recipe, Dice(0.8, 0.5, 0.6, 0.1), ["DWI_vol0000"]);
        string second = Write(Path.Combine("b", "cv"), recipe, Dice(0.7, 0.5, 0.6, 0.1), ["DWI_vol0000"]);

        CrossValidationComparison.Load([first, second]).Labels.ShouldBe([first, second]);
    }

    [Fact]
    public void RecipesKeepingOtherComponentsArePairedAfterOneSelectionWhenAsked()
    {
        string[][] folds = [["DWI_vol0000", "T2W_vol0000"], ["DWI_vol0001", "FMRI_vol0000"]];
        var largest = new TrainingOptions { Postprocessing = new() { Components = ComponentSelection.Largest } };
        var large = new TrainingOptions { Postprocessing = new() { Components = ComponentSelection.Large } };
        // Each stack's Dice is its recipe's selection's: the reference's largest, the candidate's large.
        string reference = Write("largest", largest, Dice(0.8, 0.5, 0.6, 0.1), new Dictionary<string, ComponentDices>
        {
            ["DWI_vol0000"] = new(0.8, 0.82, 0.81), ["DWI_vol0001"] = new(0.5, 0.5, 0.5), ["FMRI_vol0000"] = new(0.6, 0.6, 0.55), ["T2W_vol0000"] = new(0.1, 0.4, 0.4),
        }, folds);
        string candidate = Write("large", large, Dice(0.84, 0.5, 0.6, 0.5), new Dictionary<string, ComponentDices>
        {
            ["DWI_vol0000"] = new(0.8, 0.84, 0.83), ["DWI_vol0001"] = new(0.5, 0.5, 0.5), ["FMRI_vol0000"] = new(0.6, 0.6, 0.6), ["T2W_vol0000"] = new(0.2, 0.5, 0.5),
        }, folds);

        var asRecipes = CrossValidationComparison.Load([reference, candidate]);
        asRecipes.CouldPairOneSelection.ShouldBeTrue();
        asRecipes.Candidates[0].Differences.MeanDifference.ShouldBe((0.04 + 0.4) / 4, 1e-12);

        var afterLarge = CrossValidationComparison.Load([reference, candidate], ComponentSelection.Large);
        afterLarge.CouldPairOneSelection.ShouldBeFalse();
        afterLarge.Components.ShouldBe(ComponentSelection.Large);
        afterLarge.Candidates[0].Differences.MeanDifference.ShouldBe((0.02 + 0.1) / 4, 1e-12);
        afterLarge.Results[0].MeanDice.ShouldBe((0.82 + 0.5 + 0.6 + 0.4) / 4, 1e-12);
        afterLarge.Stacks.Single(s => s.Stack == "T2W_vol0000").Dice.ShouldBe([0.4, 0.5]);
        afterLarge.ToMarkdown().ShouldContain("every stack after `--components large` whatever its recipe keeps");

        CrossValidationComparison.Load([reference, candidate], ComponentSelection.Largest).Candidates[0].Differences.MeanDifference
            .ShouldBe(0.1 / 4, 1e-12);
    }

    [Fact]
    public void CrossValidationsScoredBeforeEverySelectionWasKeptAreRefusedOneSelectionNamingTheFolder()
    {
        var recipe = new TrainingOptions();
        string reference = Write("old", recipe, Dice(0.8, 0.5, 0.6, 0.1), ["DWI_vol0000", "DWI_vol0001"]);
        string candidate = Write("new", recipe, Dice(0.8, 0.5, 0.6, 0.1), new Dictionary<string, ComponentDices>
        {
            ["DWI_vol0000"] = new(0.8, 0.8, 0.8), ["DWI_vol0001"] = new(0.5, 0.5, 0.5),
        }, ["DWI_vol0000", "DWI_vol0001"]);

        var asRecipes = CrossValidationComparison.Load([reference, candidate]);
        asRecipes.Candidates[0].Differences.MeanDifference.ShouldBe(0);
        asRecipes.CouldPairOneSelection.ShouldBeFalse();
        var error = Should.Throw<InvalidInputException>(() => CrossValidationComparison.Load([reference, candidate], ComponentSelection.Large));
        error.Message.ShouldContain(reference);
        error.Message.ShouldContain("scored before each component selection was kept");
    }
}
