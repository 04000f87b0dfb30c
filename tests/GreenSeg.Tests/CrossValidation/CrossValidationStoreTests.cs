using GreenSeg.Common;
using GreenSeg.CrossValidation;
using GreenSeg.Transforms;
using Microsoft.Data.Sqlite;

namespace GreenSeg.Tests.CrossValidation;

public sealed class CrossValidationStoreTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("greenseg-cvstore-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static FoldResult Fold(string name, int position, params StackScore[] scores) =>
        new(name, position, ["A_vol0000", "B_vol0000"], scores.Select(s => s.Stack).ToList(), $"/runs/{name}", 25, 40.5, 0.25, true, 600, scores);

    [Fact]
    public void FoldsAndScoresRoundTripAndSummariesFollowThem()
    {
        using (var store = CrossValidationStore.Open(_folder))
        {
            store.Record(Fold("fold1", 0, new StackScore("fold1", "DWI_vol0001", "DWI", 20, 0.8, 5.5, 1.2, 100, 110, 0.75)));
            store.Record(Fold("fold2", 1, new StackScore("fold2", "DWI_vol0002", "DWI", 30, 0.6, null, null, 0, 90, null),
                new StackScore("fold2", "T2W_vol0001", "T2W", 40, 0.9, 3, 1, 200, 210, 0.9)));
        }

        var results = CrossValidationResults.Load(_folder);

        results.FoldResults.Select(f => f.Name).ShouldBe(["fold1", "fold2"]);
        results.Stacks.Count.ShouldBe(3);
        results.Stacks[0].ShouldBe(new StackScore("fold1", "DWI_vol0001", "DWI", 20, 0.8, 5.5, 1.2, 100, 110, 0.75));
        results.MeanDice.ShouldBe((0.8 + 0.6 + 0.9) / 3, 1e-12);
        results.BySequence.ShouldBe([new SequenceSummary("DWI", 2, 0.7, 0.6, "DWI_vol0002"), new SequenceSummary("T2W", 1, 0.9, 0.9, "T2W_vol0001")],
            ignoreOrder: false);
        results.TrainingKj.ShouldBe(81);
        results.ToMarkdown().ShouldContain("| DWI_vol0002 | fold2 | 30 | 0.600 | - | - | - | 0.0 | 90.0 |");
    }

    [Fact]
    public void ADatabaseWithoutTheRawDiceColumnGainsIt()
    {
        WriteFirstSchema(withFold: false);

        using (var store = CrossValidationStore.Open(_folder))
            store.Record(Fold("fold1", 0, new StackScore("fold1", "DWI_vol0001", "DWI", 20, 0.8, 5, 1, 100, 110, 0.7, 3)));

        var stack = CrossValidationResults.Load(_folder).Stacks.Single();
        stack.RawDice.ShouldBe(0.7);
        stack.RawComponents.ShouldBe(3);
    }

    [Fact]
    public void ADatabaseFromBeforeTheRawColumnsReadsReadOnlyWithThemEmpty()
    {
        WriteFirstSchema(withFold: true);

        var stack = CrossValidationResults.Load(_folder).Stacks.Single();
        (stack.Dice, stack.RawDice, stack.RawComponents).ShouldBe((0.8, (double?)null, (int?)null));
        stack.ByComponents.ShouldBeNull();
        CrossValidationResults.Load(_folder).ByComponentSelection.ShouldBeEmpty();
        CrossValidationResults.Load(_folder).ToMarkdown().ShouldNotContain("Which connected components");
    }

    [Fact]
    public void EachComponentSelectionIsSummarisedOverTheStacksAndTheBestNamed()
    {
        using (var store = CrossValidationStore.Open(_folder))
        {
            store.Record(Fold("fold1", 0, new StackScore("fold1", "DWI_vol0001", "DWI", 20, 0.8, 5, 1, 100, 110, 0.7, 2, new ComponentDices(0.8, 0.9, 0.7))));
            store.Record(Fold("fold2", 1, new StackScore("fold2", "DWI_vol0002", "DWI", 30, 0.6, 5, 1, 100, 110, 0.5, 1, new ComponentDices(0.6, 0.6, 0.5)),
                new StackScore("fold2", "T2W_vol0001", "T2W", 40, 0.3, 5, 1, 100, 110, 0.6, 3, new ComponentDices(0.3, 0.75, 0.6))));
        }

        var results = CrossValidationResults.Load(_folder);

        results.Stacks.Single(s => s.Stack == "T2W_vol0001").ByComponents.ShouldBe(new ComponentDices(0.3, 0.75, 0.6));
        var large = results.ByComponentSelection.Single(c => c.Selection == ComponentSelection.Large);
        large.MeanDice.ShouldBe((0.9 + 0.6 + 0.75) / 3, 1e-12);
        large.BySequence.Select(s => s.Sequence).ShouldBe(["DWI", "T2W"]);
        large.BySequence.Select(s => s.MeanDice).ShouldBe([0.75, 0.75], tolerance: 1e-12);
        (large.WorstStack, large.WorstDice).ShouldBe(("DWI_vol0002", 0.6));
        results.ByComponentSelection.Select(c => c.Selection).ShouldBe([ComponentSelection.All, ComponentSelection.Largest, ComponentSelection.Large], ignoreOrder: true);
        string report = results.ToMarkdown();
        report.ShouldContain("| large | 0.750 | 0.750 | 0.750 | DWI_vol0002 0.600 |");
        report.ShouldContain("| largest | 0.567 | 0.700 | 0.300 | T2W_vol0001 0.300 |");
        report.ShouldContain("Best mean: `--components large`");
    }

    [Fact]
    public void AFileThatIsNotACrossValidationIsAClearError()
    {
        File.WriteAllText(Path.Combine(_folder, CrossValidationStore.FileName), "not sqlite at all");

        Should.Throw<InvalidInputException>(() => CrossValidationStore.Open(_folder, readOnly: true)).Message.ShouldContain(CrossValidationStore.FileName);
    }

    /// <summary>A crossval.db as the first GreenSeg wrote it: no raw_dice or raw_components column; one scored stack.</summary>
    private void WriteFirstSchema(bool withFold)
    {
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_folder, CrossValidationStore.FileName)}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO meta VALUES ('schema_version', '1');
                CREATE TABLE folds (name TEXT PRIMARY KEY, position INTEGER NOT NULL, train_stacks TEXT NOT NULL, test_stacks TEXT NOT NULL,
                    run_folder TEXT NOT NULL, epochs INTEGER NOT NULL, training_kj REAL NOT NULL, inference_kj REAL NOT NULL,
                    energy_estimated INTEGER NOT NULL, seconds REAL NOT NULL);
                CREATE TABLE stacks (fold TEXT NOT NULL, stack TEXT NOT NULL, sequence TEXT NOT NULL, slices INTEGER NOT NULL,
                    dice REAL NOT NULL, hd95_mm REAL, assd_mm REAL, predicted_ml REAL NOT NULL, truth_ml REAL NOT NULL, PRIMARY KEY (fold, stack));
                INSERT INTO stacks VALUES ('fold1', 'DWI_vol0001', 'DWI', 20, 0.8, 5, 1, 100, 110);
                """ + (withFold ? "INSERT INTO folds VALUES ('fold1', 0, 'DWI_vol0000', 'DWI_vol0001', '/runs/fold1', 25, 40, 0.2, 1, 600);" : "");
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
    }
}
