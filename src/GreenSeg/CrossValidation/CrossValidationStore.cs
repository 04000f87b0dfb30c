using GreenSeg.Common;
using Microsoft.Data.Sqlite;

namespace GreenSeg.CrossValidation;

/// <summary>A tested stack's scores (3D, after post-processing, as <c>greenseg segment</c> writes the mask).</summary>
/// <remarks>
/// <see cref="RawDice"/> is the Dice of the thresholded prediction before post-processing (what post-processing gained or lost),
/// <see cref="RawComponents"/> its number of large connected components (at least the post-processing's share of the largest; cross-validations
/// scored before 2026-12-02 counted every component). <see cref="ByComponents"/> is the Dice under each component selection
/// from the same thresholded prediction (empty in cross-validations scored before 2026-12-02).
/// </remarks>
public sealed record StackScore(string Fold, string Stack, string Sequence, int Slices, double Dice, double? Hd95Mm, double? AssdMm,
    double PredictedMl, double TruthMl, double? RawDice = null, int? RawComponents = null, ComponentDices? ByComponents = null);

/// <summary>
/// A stack's Dice after each component selection (the rest of the post-processing as scored), all from one thresholded
/// prediction: which selection a recipe's models should carry is read off these (as nnU-Net decides its post-processing
/// on its cross-validation's predictions).
/// </summary>
public sealed record ComponentDices(double Largest, double Large, double All)
{
    public double For(Transforms.ComponentSelection selection) => selection switch
    {
        Transforms.ComponentSelection.Largest => Largest,
        Transforms.ComponentSelection.Large => Large,
        Transforms.ComponentSelection.All => All,
        _ => throw new ArgumentOutOfRangeException(nameof(selection), selection, "unknown component selection"),
    };
}

/// <summary>A finished fold: what it trained on, what it cost, and its test stacks' scores.</summary>
public sealed record FoldResult(string Name, int Position, IReadOnlyList<string> TrainStacks, IReadOnlyList<string> TestStacks,
    string RunFolder, int Epochs, double TrainingKj, double InferenceKj, bool EnergyEstimated, double Seconds, IReadOnlyList<StackScore> Scores);

/// <summary>
/// The SQLite file (crossval.db) of one cross-validation: its options and fold plan, each finished fold and
/// each tested stack's scores. A fold is written in one transaction once it is scored, so a stopped
/// cross-validation resumes at the first fold that has no row.
/// </summary>
public sealed class CrossValidationStore : IDisposable
{
    public const string FileName = "crossval.db";
    private const string SchemaVersion = "1";
    private readonly SqliteConnection _connection;

    public string Path { get; }

    private CrossValidationStore(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    public static bool Exists(string folder) => File.Exists(System.IO.Path.Combine(folder, FileName));

    /// <summary>Opens (creating when absent and not read-only) OUT/crossval.db.</summary>
    public static CrossValidationStore Open(string folder, bool readOnly = false)
    {
        string path = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, FileName));
        if (readOnly && !File.Exists(path)) throw new InvalidInputException(path, "no cross-validation database here (expected a folder written by greenseg crossval)");
        return SqliteDatabase.Open(path, readOnly, "cross-validation", connection =>
        {
            var store = new CrossValidationStore(path, connection);
            if (!readOnly) store.CreateSchema();
            store.CheckSchema();
            return store;
        });
    }

    private void CreateSchema()
    {
        Execute("""
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS folds (
                name TEXT PRIMARY KEY, position INTEGER NOT NULL, train_stacks TEXT NOT NULL, test_stacks TEXT NOT NULL,
                run_folder TEXT NOT NULL, epochs INTEGER NOT NULL, training_kj REAL NOT NULL, inference_kj REAL NOT NULL,
                energy_estimated INTEGER NOT NULL, seconds REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS stacks (
                fold TEXT NOT NULL REFERENCES folds(name), stack TEXT NOT NULL, sequence TEXT NOT NULL, slices INTEGER NOT NULL,
                dice REAL NOT NULL, hd95_mm REAL, assd_mm REAL, predicted_ml REAL NOT NULL, truth_ml REAL NOT NULL,
                PRIMARY KEY (fold, stack));
            INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
            """);
        // Databases written before these were kept gain their columns (empty for their stacks).
        AddColumnWhenMissing("raw_dice", "REAL");
        AddColumnWhenMissing("raw_components", "INTEGER");
        AddColumnWhenMissing("dice_largest", "REAL");
        AddColumnWhenMissing("dice_large", "REAL");
        AddColumnWhenMissing("dice_all", "REAL");
    }

    private void AddColumnWhenMissing(string name, string type)
    {
        if (!HasColumn(name)) Execute($"ALTER TABLE stacks ADD COLUMN {name} {type}");
    }

    /// <summary>Whether the stacks table has this column.</summary>
    private bool HasColumn(string name)
    {
        using var columns = Command("SELECT COUNT(*) FROM pragma_table_info('stacks') WHERE name = $name", ("$name", name));
        return Convert.ToInt64(columns.ExecuteScalar()) > 0;
    }

    private void CheckSchema()
    {
        string? version;
        try { version = GetMeta("schema_version"); }
        catch (SqliteException e) { throw new InvalidInputException(Path, $"not a GreenSeg cross-validation database ({e.Message})", e); }
        if (version != SchemaVersion)
            throw new InvalidInputException(Path, $"cross-validation database schema {version ?? "unknown"}; this GreenSeg reads schema {SchemaVersion}");
    }

    public string? GetMeta(string key)
    {
        using var command = Command("SELECT value FROM meta WHERE key = $key", ("$key", key));
        return command.ExecuteScalar() as string;
    }

    public void SetMeta(string key, string value) =>
        Execute("INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$key", key), ("$value", value));

    /// <summary>Records a finished fold and its scores atomically.</summary>
    public void Record(FoldResult fold)
    {
        using var transaction = _connection.BeginTransaction();
        Execute("""
            INSERT OR REPLACE INTO folds (name, position, train_stacks, test_stacks, run_folder, epochs, training_kj, inference_kj, energy_estimated, seconds)
            VALUES ($name, $position, $train, $test, $run, $epochs, $training, $inference, $estimated, $seconds)
            """, transaction, ("$name", fold.Name), ("$position", fold.Position), ("$train", string.Join(',', fold.TrainStacks)),
            ("$test", string.Join(',', fold.TestStacks)), ("$run", fold.RunFolder), ("$epochs", fold.Epochs), ("$training", fold.TrainingKj),
            ("$inference", fold.InferenceKj), ("$estimated", fold.EnergyEstimated ? 1 : 0), ("$seconds", fold.Seconds));
        Execute("DELETE FROM stacks WHERE fold = $fold", transaction, ("$fold", fold.Name));
        foreach (var score in fold.Scores)
            Execute("""
                INSERT INTO stacks (fold, stack, sequence, slices, dice, hd95_mm, assd_mm, predicted_ml, truth_ml, raw_dice, raw_components,
                    dice_largest, dice_large, dice_all)
                VALUES ($fold, $stack, $sequence, $slices, $dice, $hd95, $assd, $predicted, $truth, $raw, $components, $largest, $large, $all)
                """, transaction, ("$fold", fold.Name), ("$stack", score.Stack), ("$sequence", score.Sequence), ("$slices", score.Slices),
                ("$dice", score.Dice), ("$hd95", score.Hd95Mm), ("$assd", score.AssdMm), ("$predicted", score.PredictedMl), ("$truth", score.TruthMl),
                ("$raw", score.RawDice), ("$components", score.RawComponents),
                ("$largest", score.ByComponents?.Largest), ("$large", score.ByComponents?.Large), ("$all", score.ByComponents?.All));
        transaction.Commit();
    }

    public IReadOnlyList<FoldResult> Folds()
    {
        var scores = ReadScores().ToLookup(s => s.Fold, StringComparer.Ordinal);
        using var command = Command("""
            SELECT name, position, train_stacks, test_stacks, run_folder, epochs, training_kj, inference_kj, energy_estimated, seconds
            FROM folds ORDER BY position
            """);
        using var reader = command.ExecuteReader();
        var folds = new List<FoldResult>();
        while (reader.Read())
        {
            string name = reader.GetString(0);
            folds.Add(new FoldResult(name, reader.GetInt32(1), Split(reader.GetString(2)), Split(reader.GetString(3)), reader.GetString(4),
                reader.GetInt32(5), reader.GetDouble(6), reader.GetDouble(7), reader.GetInt32(8) != 0, reader.GetDouble(9), scores[name].ToList()));
        }
        return folds;
    }

    private List<StackScore> ReadScores()
    {
        // A database opened read-only may predate the later columns: they read as empty.
        string Later(string column) => HasColumn(column) ? column : "NULL";
        using var command = Command($"SELECT fold, stack, sequence, slices, dice, hd95_mm, assd_mm, predicted_ml, truth_ml, {Later("raw_dice")}, {Later("raw_components")}, " +
            $"{Later("dice_largest")}, {Later("dice_large")}, {Later("dice_all")} FROM stacks ORDER BY stack");
        using var reader = command.ExecuteReader();
        var scores = new List<StackScore>();
        while (reader.Read())
            scores.Add(new StackScore(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetDouble(4),
                reader.IsDBNull(5) ? null : reader.GetDouble(5), reader.IsDBNull(6) ? null : reader.GetDouble(6), reader.GetDouble(7), reader.GetDouble(8),
                reader.IsDBNull(9) ? null : reader.GetDouble(9), reader.IsDBNull(10) ? null : reader.GetInt32(10),
                reader.IsDBNull(11) || reader.IsDBNull(12) || reader.IsDBNull(13) ? null : new ComponentDices(reader.GetDouble(11), reader.GetDouble(12), reader.GetDouble(13))));
        return scores;
    }

    private static string[] Split(string joined) => joined.Length == 0 ? [] : joined.Split(',');

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) => Command(sql, null, parameters);

    private SqliteCommand Command(string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    private void Execute(string sql, params (string Name, object? Value)[] parameters) => Execute(sql, null, parameters);

    private void Execute(string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, transaction, parameters);
        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
