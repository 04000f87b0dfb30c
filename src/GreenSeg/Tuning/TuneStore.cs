using System.Globalization;
using System.Runtime.Serialization;
using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Training;
using Microsoft.Data.Sqlite;

namespace GreenSeg.Tuning;

/// <summary>Where a trial stands.</summary>
public enum TrialStatus
{
    /// <summary>A job of it has started and not ended (a stopped search resumes it first).</summary>
    [EnumMember(Value = "running")] Running,
    /// <summary>Paused at a rung below the top: a promotion resumes it.</summary>
    [EnumMember(Value = "paused")] Paused,
    /// <summary>Ended on its own before the top rung (early stopping, an energy budget of its recipe): its last result stands.</summary>
    [EnumMember(Value = "stopped")] Stopped,
    /// <summary>Reached the top rung: trained in full.</summary>
    [EnumMember(Value = "completed")] Completed,
    /// <summary>Training failed (diverged, out of memory, a shape the input size does not fit); its energy still counts.</summary>
    [EnumMember(Value = "failed")] Failed,
    /// <summary>Its drawn settings make no valid recipe; it never trained.</summary>
    [EnumMember(Value = "rejected")] Rejected,
}

/// <summary>Why a job was started.</summary>
public enum JobKind
{
    /// <summary>A new trial's first rung.</summary>
    [EnumMember(Value = "new")] NewTrial,
    /// <summary>A trial promoted from the rung below.</summary>
    [EnumMember(Value = "promotion")] Promotion,
}

/// <summary>A trial: its drawn settings, resolved options, state, and the energy it has cost so far (every process, every fold).</summary>
public sealed record TrialRecord
{
    public required int Id { get; init; }
    public required IReadOnlyList<OptionSetting> Settings { get; init; }
    public string OptionsYaml { get; init; } = "";
    public TrialStatus Status { get; init; }
    public string RunFolder { get; init; } = "";
    /// <summary>Training energy so far (IT energy without PUE, every process, and every fold with --cv), kJ.</summary>
    public double TrainingKj { get; init; }
    /// <summary>Energy of scoring the held-out stacks at each rung (--cv only), kJ.</summary>
    public double InferenceKj { get; init; }
    public bool EnergyEstimated { get; init; }
    public string? Error { get; init; }

    public double Kj => TrainingKj + InferenceKj;

    public string Name => TrialName(Id);

    /// <summary>What the trial changes against the base recipe, e.g. "learning-rate: 0.0004, model-width: 16".</summary>
    public string Changes => string.Join(", ", Settings);

    public static string TrialName(int id) => $"trial-{id.ToString("000", CultureInfo.InvariantCulture)}";
}

/// <summary>A trial's result at a rung.</summary>
/// <param name="Resource">The rung's resource (epochs or kJ).</param>
/// <param name="Epochs">Epochs the trial had trained (fewer than the rung when it ended on its own).</param>
/// <param name="Dice">The best validation Dice so far (mean over the held-out stacks; the cross-validated mean with --cv).</param>
/// <param name="Score">The objective's value, what the rung ranks by.</param>
/// <param name="TrialKj">The trial's whole energy so far, kJ.</param>
/// <param name="EpochKj">Energy of its epochs alone so far (no setup, finders or scoring), kJ.</param>
public sealed record RungResult(int Trial, int Rung, double Resource, int Epochs, double Dice, double Score, double TrialKj, double EpochKj, string? StopReason);

/// <summary>One job of the search: a trial taken to a rung; <see cref="KjAfter"/> is null while it runs.</summary>
public sealed record TuneJob(int Sequence, int Trial, int Rung, JobKind Kind, double KjBefore, double? KjAfter, string? Outcome)
{
    public bool IsOpen => KjAfter is null;
}

/// <summary>
/// The SQLite file of one search (TUNE/tune.db): <c>meta</c> (the search file, data, seed, objective, folds, how energy is
/// obtained), <c>trials</c> (drawn settings, options, status, energy), <c>rungs</c> (every trial's result at every rung
/// it reached) and <c>jobs</c> (the search's order: which trial went to which rung, and what it cost). A job is written
/// when it starts, with its trial when the trial is new, in one transaction; a job without an end is the one a stopped
/// search resumes.
/// </summary>
public sealed class TuneStore : IDisposable
{
    public const string FileName = "tune.db";
    private const string SchemaVersion = "1";
    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;

    public string Path { get; }

    private TuneStore(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    public static bool Exists(string folder) => File.Exists(System.IO.Path.Combine(folder, FileName));

    /// <summary>Opens (creating when absent and not read-only) TUNE/tune.db; a tune.db file may be named directly.</summary>
    public static TuneStore Open(string folderOrFile, bool readOnly = false)
    {
        bool isFile = File.Exists(folderOrFile) && !Directory.Exists(folderOrFile);
        string path = System.IO.Path.GetFullPath(isFile ? folderOrFile : System.IO.Path.Combine(folderOrFile, FileName));
        if (readOnly && !File.Exists(path)) throw new InvalidInputException(path, "no search database here (expected a folder written by greenseg tune)");
        return SqliteDatabase.Open(path, readOnly, "search", connection =>
        {
            var store = new TuneStore(path, connection);
            if (!readOnly) store.CreateSchema();
            store.CheckSchema();
            return store;
        });
    }

    private void CreateSchema() => Execute("""
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS trials (
            id INTEGER PRIMARY KEY, settings TEXT NOT NULL, options_yaml TEXT NOT NULL, status TEXT NOT NULL, run_folder TEXT NOT NULL,
            training_kj REAL NOT NULL DEFAULT 0, inference_kj REAL NOT NULL DEFAULT 0, energy_estimated INTEGER NOT NULL DEFAULT 0,
            error TEXT, created_utc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS rungs (
            trial INTEGER NOT NULL REFERENCES trials(id), rung INTEGER NOT NULL, resource REAL NOT NULL, epochs INTEGER NOT NULL,
            dice REAL, score REAL, trial_kj REAL NOT NULL, epoch_kj REAL NOT NULL, stop_reason TEXT, PRIMARY KEY (trial, rung));
        CREATE TABLE IF NOT EXISTS jobs (
            sequence INTEGER PRIMARY KEY, trial INTEGER NOT NULL REFERENCES trials(id), rung INTEGER NOT NULL, kind TEXT NOT NULL,
            kj_before REAL NOT NULL, kj_after REAL, outcome TEXT, started_utc TEXT NOT NULL, finished_utc TEXT);
        INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
        """);

    private void CheckSchema()
    {
        string? version;
        try { version = GetMeta("schema_version"); }
        catch (SqliteException e) { throw new InvalidInputException(Path, $"not a GreenSeg search database ({e.Message})", e); }
        if (version != SchemaVersion) throw new InvalidInputException(Path, $"search database schema {version ?? "unknown"}; this GreenSeg reads schema {SchemaVersion}");
    }

    public void SetMeta(string key, string value) =>
        Execute("INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$key", key), ("$value", value));

    public string? GetMeta(string key)
    {
        using var command = Command("SELECT value FROM meta WHERE key = $key", ("$key", key));
        return command.ExecuteScalar() as string;
    }

    /// <summary>Adds a new trial and the job of its first rung, in one transaction; returns the job.</summary>
    public TuneJob StartNewTrial(int id, IReadOnlyList<OptionSetting> settings, string optionsYaml, string runFolder) => InTransaction(() =>
    {
        AddTrial(id, settings, optionsYaml, TrialStatus.Running, runFolder, null);
        return AddJob(id, 0, JobKind.NewTrial, 0);
    });

    /// <summary>Records a trial whose drawn settings make no valid recipe (it never trains).</summary>
    public void AddRejectedTrial(int id, IReadOnlyList<OptionSetting> settings, string error) =>
        AddTrial(id, settings, "", TrialStatus.Rejected, "", error);

    /// <summary>Starts the job that takes a paused trial up to <paramref name="rung"/>.</summary>
    public TuneJob StartPromotion(int trial, int rung, double kjBefore) => InTransaction(() =>
    {
        Execute("UPDATE trials SET status = $status WHERE id = $id", ("$status", Name(TrialStatus.Running)), ("$id", trial));
        return AddJob(trial, rung, JobKind.Promotion, kjBefore);
    });

    /// <summary>Stores a job's result: the rung result (when it reached one), the trial's state and energy, and the job's end.</summary>
    public void FinishJob(TuneJob job, TrialStatus status, double trainingKj, double inferenceKj, bool estimated, RungResult? result, string? error, string outcome) =>
        InTransaction(() =>
        {
            if (result is not null)
                Execute("""
                    INSERT OR REPLACE INTO rungs (trial, rung, resource, epochs, dice, score, trial_kj, epoch_kj, stop_reason)
                    VALUES ($trial, $rung, $resource, $epochs, $dice, $score, $trial_kj, $epoch_kj, $stop)
                    """,
                    ("$trial", result.Trial), ("$rung", result.Rung), ("$resource", result.Resource), ("$epochs", result.Epochs), ("$dice", result.Dice),
                    ("$score", result.Score), ("$trial_kj", result.TrialKj), ("$epoch_kj", result.EpochKj), ("$stop", result.StopReason));
            UpdateEnergy(job.Trial, trainingKj, inferenceKj, estimated);
            Execute("UPDATE trials SET status = $status, error = $error WHERE id = $id", ("$status", Name(status)), ("$error", error), ("$id", job.Trial));
            Execute("UPDATE jobs SET kj_after = $kj, outcome = $outcome, finished_utc = $now WHERE sequence = $sequence",
                ("$kj", trainingKj + inferenceKj), ("$outcome", outcome), ("$now", Now()), ("$sequence", job.Sequence));
            return 0;
        });

    /// <summary>A stopped job's energy so far (the job stays open, to be resumed).</summary>
    public void UpdateEnergy(int trial, double trainingKj, double inferenceKj, bool estimated) =>
        Execute("UPDATE trials SET training_kj = $training, inference_kj = $inference, energy_estimated = $estimated WHERE id = $id",
            ("$training", trainingKj), ("$inference", inferenceKj), ("$estimated", estimated ? 1 : 0), ("$id", trial));

    /// <summary>The job a stopped search left running, if any.</summary>
    public TuneJob? OpenJob() => Jobs().FirstOrDefault(j => j.IsOpen);

    public IReadOnlyList<TuneJob> Jobs()
    {
        using var command = Command("SELECT sequence, trial, rung, kind, kj_before, kj_after, outcome FROM jobs ORDER BY sequence");
        using var reader = command.ExecuteReader();
        var jobs = new List<TuneJob>();
        while (reader.Read())
            jobs.Add(new TuneJob(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), Parse<JobKind>(reader.GetString(3)), reader.GetDouble(4),
                reader.IsDBNull(5) ? null : reader.GetDouble(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        return jobs;
    }

    public TrialRecord Trial(int id) => Trials().FirstOrDefault(t => t.Id == id) ?? throw new GreenSegException($"{Path}: no trial {id}");

    /// <summary>Every trial, by id.</summary>
    public IReadOnlyList<TrialRecord> Trials()
    {
        using var command = Command("SELECT id, settings, options_yaml, status, run_folder, training_kj, inference_kj, energy_estimated, error FROM trials ORDER BY id");
        using var reader = command.ExecuteReader();
        var trials = new List<TrialRecord>();
        while (reader.Read())
            trials.Add(new TrialRecord
            {
                Id = reader.GetInt32(0),
                Settings = JsonSerializer.Deserialize<List<OptionSetting>>(reader.GetString(1)) ?? [],
                OptionsYaml = reader.GetString(2),
                Status = Parse<TrialStatus>(reader.GetString(3)),
                RunFolder = reader.GetString(4),
                TrainingKj = reader.GetDouble(5),
                InferenceKj = reader.GetDouble(6),
                EnergyEstimated = reader.GetInt32(7) != 0,
                Error = reader.IsDBNull(8) ? null : reader.GetString(8),
            });
        return trials;
    }

    /// <summary>Every rung result, by trial and rung.</summary>
    public IReadOnlyList<RungResult> RungResults()
    {
        using var command = Command("SELECT trial, rung, resource, epochs, dice, score, trial_kj, epoch_kj, stop_reason FROM rungs ORDER BY trial, rung");
        using var reader = command.ExecuteReader();
        var results = new List<RungResult>();
        while (reader.Read())
            results.Add(new RungResult(reader.GetInt32(0), reader.GetInt32(1), reader.GetDouble(2), reader.GetInt32(3), RealOrNaN(reader, 4), RealOrNaN(reader, 5),
                reader.GetDouble(6), reader.GetDouble(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        return results;
    }

    private void AddTrial(int id, IReadOnlyList<OptionSetting> settings, string optionsYaml, TrialStatus status, string runFolder, string? error) =>
        Execute("""
            INSERT INTO trials (id, settings, options_yaml, status, run_folder, error, created_utc)
            VALUES ($id, $settings, $yaml, $status, $folder, $error, $now)
            """,
            ("$id", id), ("$settings", JsonSerializer.Serialize(settings)), ("$yaml", optionsYaml), ("$status", Name(status)),
            ("$folder", runFolder), ("$error", error), ("$now", Now()));

    private TuneJob AddJob(int trial, int rung, JobKind kind, double kjBefore)
    {
        Execute("INSERT INTO jobs (trial, rung, kind, kj_before, started_utc) VALUES ($trial, $rung, $kind, $kj, $now)",
            ("$trial", trial), ("$rung", rung), ("$kind", Name(kind)), ("$kj", kjBefore), ("$now", Now()));
        using var command = Command("SELECT last_insert_rowid()");
        return new TuneJob(Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture), trial, rung, kind, kjBefore, null, null);
    }

    private static string Name(Enum value) => ChoiceNames.Name(value);

    private static T Parse<T>(string text) where T : struct, Enum => ChoiceNames.Parse<T>(text, typeof(T).Name);

    private static double RealOrNaN(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? double.NaN : reader.GetDouble(ordinal);

    private static string Now() => DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture);

    private T InTransaction<T>(Func<T> work)
    {
        using var transaction = _transaction = _connection.BeginTransaction();
        try
        {
            var result = work();
            transaction.Commit();
            return result;
        }
        finally
        {
            _transaction = null;
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) =>
        SqliteDatabase.Command(_connection, _transaction, sql, parameters);

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
