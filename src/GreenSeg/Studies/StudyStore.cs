using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Training;
using Microsoft.Data.Sqlite;

namespace GreenSeg.Studies;

public enum RunStatus { Pending, Running, Interrupted, Finished, Failed }

/// <summary>A run as the study database holds it: its plan, its state, and once it ended, its result.</summary>
public sealed record StoredRun
{
    public required string Name { get; init; }
    public int Position { get; init; }
    public required string OptionsYaml { get; init; }
    public string Changes { get; init; } = "";
    public RunStatus Status { get; init; }
    public string? RunFolder { get; init; }
    public string Model { get; init; } = "";
    public long Parameters { get; init; }
    public double GigaMacs { get; init; }
    public DateTimeOffset? StartedUtc { get; init; }
    public DateTimeOffset? FinishedUtc { get; init; }
    public int? EpochsRun { get; init; }
    public int? BestEpoch { get; init; }
    public double? BestDice { get; init; }
    public string? StopReason { get; init; }
    public double? LearningRate { get; init; }
    public int? BatchSize { get; init; }
    public double? DurationSeconds { get; init; }
    /// <summary>Energy of the training epochs only.</summary>
    public double? EpochsEnergyKj { get; init; }
    /// <summary>Energy of the whole run: setup, LR finder and batch-size probes, and every epoch, over all resumes.</summary>
    public double? TotalEnergyKj { get; init; }
    public bool EnergyEstimated { get; init; }
    public double? Co2Grams { get; init; }
    public string? Error { get; init; }
    /// <summary>The run this one is derived from (from:), null for a run trained from scratch.</summary>
    public string? Parent { get; init; }
    /// <summary>How it is derived and deployed (<see cref="PlannedRun.Derivation"/>).</summary>
    public string Derivation { get; init; } = "";
    /// <summary>Its training energy with that of every run it descends from (parent, teacher), kJ.</summary>
    public double? CumulativeEnergyKj { get; init; }
    /// <summary>Its deployed model measured (a study with deployment measurement), else null.</summary>
    public DeploymentMeasurement? Deployment { get; init; }

    public TrainingOptions Options(string source) => TrainingOptions.ParseWritten(OptionsYaml, source);
}

/// <summary>
/// A run's model as deployed: its file (model.pt, or the exported .onnx) in MB (10^6 bytes), the share of its convolution
/// weights that are zero, parameters and GMACs per slice, validation Dice of the stacks segmented in 3D by that engine
/// (mean and sd over stacks), and the mean seconds and joules to segment one timing stack.
/// </summary>
public sealed record DeploymentMeasurement(double FileMegabytes, double Sparsity, long Parameters, double GigaMacs, double? DiceMean, double? DiceSd,
    double SecondsPerStack, double JoulesPerStack, bool EnergyEstimated);

/// <summary>What a run cost in total, from its emissions files (every resume appends a row).</summary>
public sealed record RunTotals(double EnergyKj, bool Estimated, double Co2Grams);

/// <summary>
/// The study database (SQLite): <c>study</c> (key/value facts about the study), <c>runs</c> (one row
/// per planned run: options, status, result, parameters, GMACs) and <c>epochs</c> (metrics.csv of every
/// run, energy included). It is the study's memory: a rerun skips what is finished.
/// </summary>
public sealed class StudyStore : IDisposable
{
    public const string FileName = "study.db";
    private const int SchemaVersion = 2;

    /// <summary>Columns schema 2 added to runs (derived runs, deployment measurements); a schema-1 database gains them when opened for writing.</summary>
    private static readonly (string Name, string Type)[] AddedColumns =
    [
        ("parent", "TEXT"), ("derivation", "TEXT NOT NULL DEFAULT ''"), ("cumulative_energy_kj", "REAL"), ("file_mb", "REAL"), ("sparsity", "REAL"),
        ("deployed_dice", "REAL"), ("deployed_dice_sd", "REAL"), ("inference_s", "REAL"), ("inference_j", "REAL"), ("inference_estimated", "INTEGER"),
    ];

    private int _version = SchemaVersion;
    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;

    public string Path { get; }

    private StudyStore(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    /// <summary>Opens (creating when absent) the database of a study folder, or a file when the path is one or ends in .db.</summary>
    public static StudyStore Open(string folderOrFile, bool readOnly = false)
    {
        bool isFile = File.Exists(folderOrFile) || (!Directory.Exists(folderOrFile) && folderOrFile.EndsWith(".db", StringComparison.OrdinalIgnoreCase));
        string path = System.IO.Path.GetFullPath(isFile ? folderOrFile : System.IO.Path.Combine(folderOrFile, FileName));
        if (readOnly && !File.Exists(path)) throw new InvalidInputException(path, "no study database here (expected a study folder holding study.db, or a .db file)");
        return SqliteDatabase.Open(path, readOnly, "study", connection =>
        {
            var store = new StudyStore(path, connection);
            if (readOnly) store.CheckSchema();
            else store.CreateSchema();
            return store;
        });
    }

    private void CreateSchema()
    {
        Execute("""
            CREATE TABLE IF NOT EXISTS study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS runs (
                name TEXT PRIMARY KEY, position INTEGER NOT NULL, options_yaml TEXT NOT NULL, changes TEXT NOT NULL,
                status TEXT NOT NULL, run_folder TEXT, model TEXT NOT NULL, params INTEGER NOT NULL, gmacs REAL NOT NULL,
                started_utc TEXT, finished_utc TEXT, epochs_run INTEGER, best_epoch INTEGER, best_dice REAL,
                stop_reason TEXT, learning_rate REAL, batch_size INTEGER, duration_s REAL,
                epochs_energy_kj REAL, total_energy_kj REAL, energy_estimated INTEGER NOT NULL DEFAULT 0, co2_g REAL, error TEXT,
                parent TEXT, derivation TEXT NOT NULL DEFAULT '', cumulative_energy_kj REAL, file_mb REAL, sparsity REAL,
                deployed_dice REAL, deployed_dice_sd REAL, inference_s REAL, inference_j REAL, inference_estimated INTEGER);
            CREATE TABLE IF NOT EXISTS epochs (
                run TEXT NOT NULL REFERENCES runs(name), epoch INTEGER NOT NULL,
                train_loss REAL, val_loss REAL, val_dice REAL, val_dice_sd REAL, lr REAL, batch_size INTEGER,
                epoch_s REAL, train_s REAL, data_wait_s REAL, slices_per_s REAL,
                energy_j REAL, cpu_j REAL, ram_j REAL, gpu_j REAL, energy_origin TEXT, co2_g REAL, cumulative_energy_kj REAL, best INTEGER,
                PRIMARY KEY (run, epoch));
            """);
        string? version = GetMeta("schema_version");
        if (version == "1")
        {
            foreach (var (name, type) in AddedColumns) Execute($"ALTER TABLE runs ADD COLUMN {name} {type}");
            version = null;
        }
        if (version is null) SetMeta("schema_version", SchemaVersion.ToString(CultureInfo.InvariantCulture));
        else CheckSchema();
    }

    private void CheckSchema()
    {
        string? version;
        try { version = GetMeta("schema_version"); }
        catch (SqliteException e) { throw new InvalidInputException(Path, $"not a GreenSeg study database ({e.Message})", e); }
        // Schema 1 (before derived runs) still reads: its runs have none of the added columns.
        if (version == "1") _version = 1;
        else if (version != SchemaVersion.ToString(CultureInfo.InvariantCulture))
            throw new InvalidInputException(Path, $"study database schema {version ?? "unknown"}; this GreenSeg reads schemas 1 and {SchemaVersion}");
    }

    public void SetMeta(string key, string value) =>
        Execute("INSERT INTO study (key, value) VALUES ($key, $value) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$key", key), ("$value", value));

    public string? GetMeta(string key)
    {
        using var command = Command("SELECT value FROM study WHERE key = $key", ("$key", key));
        return command.ExecuteScalar() as string;
    }

    /// <summary>
    /// Adds a planned run, or checks that the stored run of that name was planned with the same options
    /// (a study folder holds one study: changing a run's options needs a new folder).
    /// </summary>
    public void Register(PlannedRun run, int position, long parameters, double gigaMacs)
    {
        string yaml = run.Options.ToYaml();
        if (TryGet(run.Name) is { } stored)
        {
            string? readBack = stored.OptionsYaml == yaml ? yaml : ReadBack(stored.OptionsYaml);
            if (readBack != yaml)
                throw new GreenSegException($"{Path}: run '{run.Name}' was planned with other options ({Difference(readBack ?? stored.OptionsYaml, yaml)}); " +
                    "a study folder holds one study: use another --out, or delete the folder to start over");
            if (stored.Derivation != run.Derivation)
                throw new GreenSegException($"{Path}: run '{run.Name}' was planned as '{stored.Derivation}', now '{run.Derivation}'; " +
                    "a study folder holds one study: use another --out, or delete the folder to start over");
            Execute("UPDATE runs SET position = $position WHERE name = $name", ("$position", position), ("$name", run.Name));
            return;
        }
        Execute("""
            INSERT INTO runs (name, position, options_yaml, changes, status, model, params, gmacs, parent, derivation)
            VALUES ($name, $position, $yaml, $changes, $status, $model, $params, $gmacs, $parent, $derivation)
            """,
            ("$name", run.Name), ("$position", position), ("$yaml", yaml), ("$changes", run.ChangesText),
            ("$status", RunStatus.Pending.ToString()), ("$model", run.Options.Model), ("$params", parameters), ("$gmacs", gigaMacs),
            ("$parent", run.From), ("$derivation", run.Derivation));
    }

    /// <summary>Stores a run's training energy with that of the runs it descends from, and its deployed model's measurement (parameters and GMACs as measured).</summary>
    public void RecordDeployment(string name, double? cumulativeEnergyKj, DeploymentMeasurement? deployment)
    {
        Execute("""
            UPDATE runs SET cumulative_energy_kj = $cumulative, file_mb = $file, sparsity = $sparsity, deployed_dice = $dice, deployed_dice_sd = $sd,
                inference_s = $seconds, inference_j = $joules, inference_estimated = $estimated,
                params = COALESCE($params, params), gmacs = COALESCE($gmacs, gmacs)
            WHERE name = $name
            """,
            ("$cumulative", cumulativeEnergyKj), ("$file", deployment?.FileMegabytes), ("$sparsity", deployment?.Sparsity),
            ("$dice", deployment?.DiceMean), ("$sd", deployment?.DiceSd), ("$seconds", deployment?.SecondsPerStack), ("$joules", deployment?.JoulesPerStack),
            ("$estimated", deployment is null ? null : deployment.EnergyEstimated ? 1 : 0), ("$params", deployment?.Parameters), ("$gmacs", deployment?.GigaMacs),
            ("$name", name));
    }

    public void MarkRunning(string name, string runFolder) =>
        Execute("UPDATE runs SET status = $status, run_folder = $folder, started_utc = COALESCE(started_utc, $now), error = NULL WHERE name = $name",
            ("$status", RunStatus.Running.ToString()), ("$folder", runFolder), ("$now", Now()), ("$name", name));

    /// <summary>Stores how a run ended (result may be null when it failed or was stopped before returning one).</summary>
    public void RecordOutcome(string name, RunStatus status, TrainingResult? result, RunTotals? totals, string? error)
    {
        Execute("""
            UPDATE runs SET status = $status, finished_utc = $finished, epochs_run = $epochs, best_epoch = $best_epoch,
                best_dice = $best_dice, stop_reason = $stop, learning_rate = $lr, batch_size = $batch, duration_s = $duration,
                epochs_energy_kj = $epochs_kj, total_energy_kj = $total_kj, energy_estimated = $estimated, co2_g = $co2, error = $error
            WHERE name = $name
            """,
            ("$status", status.ToString()), ("$finished", status == RunStatus.Finished ? Now() : null),
            ("$epochs", result?.EpochsRun), ("$best_epoch", result?.BestEpoch), ("$best_dice", result?.BestValidationDice),
            ("$stop", result?.StopReason), ("$lr", result?.LearningRate), ("$batch", result?.BatchSize),
            ("$duration", result?.Duration.TotalSeconds), ("$epochs_kj", result?.TotalEnergyKj),
            ("$total_kj", totals?.EnergyKj), ("$estimated", (totals?.Estimated ?? result?.EnergyEstimated ?? false) ? 1 : 0),
            ("$co2", totals?.Co2Grams), ("$error", error), ("$name", name));
    }

    /// <summary>Replaces a run's epochs with these rows (metrics.csv is the source; it already merges resumes).</summary>
    public void ReplaceEpochs(string run, IReadOnlyList<EpochMetrics> rows)
    {
        using var transaction = _transaction = _connection.BeginTransaction();
        try
        {
            Execute("DELETE FROM epochs WHERE run = $run", ("$run", run));
            foreach (var row in rows) UpsertEpoch(run, row);
            transaction.Commit();
        }
        finally
        {
            _transaction = null;
        }
    }

    public void UpsertEpoch(string run, EpochMetrics row) => Execute("""
        INSERT OR REPLACE INTO epochs (run, epoch, train_loss, val_loss, val_dice, val_dice_sd, lr, batch_size, epoch_s, train_s,
            data_wait_s, slices_per_s, energy_j, cpu_j, ram_j, gpu_j, energy_origin, co2_g, cumulative_energy_kj, best)
        VALUES ($run, $epoch, $train_loss, $val_loss, $val_dice, $val_dice_sd, $lr, $batch, $epoch_s, $train_s,
            $wait, $sps, $energy, $cpu, $ram, $gpu, $origin, $co2, $cumulative, $best)
        """,
        ("$run", run), ("$epoch", row.Epoch), ("$train_loss", row.TrainLoss), ("$val_loss", row.ValidationLoss),
        ("$val_dice", row.ValidationDice), ("$val_dice_sd", row.ValidationDiceSd), ("$lr", row.LearningRate), ("$batch", row.BatchSize),
        ("$epoch_s", row.EpochSeconds), ("$train_s", row.TrainSeconds), ("$wait", row.DataWaitSeconds), ("$sps", row.SlicesPerSecond),
        ("$energy", row.EnergyJoules), ("$cpu", row.CpuJoules), ("$ram", row.RamJoules), ("$gpu", row.GpuJoules),
        ("$origin", row.EnergyOrigin), ("$co2", row.Co2Grams), ("$cumulative", row.CumulativeEnergyKj), ("$best", row.IsBest ? 1 : 0));

    public StoredRun? TryGet(string name) => ReadRuns("WHERE name = $name", ("$name", name)).FirstOrDefault();

    public StoredRun Get(string name) => TryGet(name) ?? throw new GreenSegException($"{Path}: no run named '{name}'");

    /// <summary>Every run, in plan order.</summary>
    public IReadOnlyList<StoredRun> Runs() => ReadRuns("ORDER BY position, name");

    public IReadOnlyList<EpochMetrics> Epochs(string run)
    {
        using var command = Command("""
            SELECT epoch, train_loss, val_loss, val_dice, val_dice_sd, lr, batch_size, epoch_s, train_s, data_wait_s, slices_per_s,
                   energy_j, cpu_j, ram_j, gpu_j, energy_origin, co2_g, cumulative_energy_kj, best
            FROM epochs WHERE run = $run ORDER BY epoch
            """, ("$run", run));
        using var reader = command.ExecuteReader();
        var rows = new List<EpochMetrics>();
        while (reader.Read())
        {
            rows.Add(new EpochMetrics
            {
                Epoch = reader.GetInt32(0), TrainLoss = RealOrNaN(reader, 1), ValidationLoss = RealOrNaN(reader, 2),
                ValidationDice = RealOrNaN(reader, 3), ValidationDiceSd = RealOrNaN(reader, 4), LearningRate = RealOrNaN(reader, 5),
                BatchSize = reader.GetInt32(6), EpochSeconds = RealOrNaN(reader, 7), TrainSeconds = RealOrNaN(reader, 8),
                DataWaitSeconds = RealOrNaN(reader, 9), SlicesPerSecond = RealOrNaN(reader, 10), EnergyJoules = RealOrNaN(reader, 11),
                CpuJoules = RealOrNaN(reader, 12), RamJoules = RealOrNaN(reader, 13), GpuJoules = RealOrNaN(reader, 14),
                EnergyOrigin = reader.GetString(15), Co2Grams = RealOrNaN(reader, 16), CumulativeEnergyKj = RealOrNaN(reader, 17),
                IsBest = reader.GetInt32(18) != 0,
            });
        }
        return rows;
    }

    private List<StoredRun> ReadRuns(string filter, params (string Name, object? Value)[] parameters)
    {
        // A schema-1 database (read-only) has none of the added columns: they read as NULL.
        string added = string.Join(", ", AddedColumns.Select(c => _version >= 2 ? c.Name : $"NULL AS {c.Name}"));
        using var command = Command($"""
            SELECT name, position, options_yaml, changes, status, run_folder, model, params, gmacs, started_utc, finished_utc,
                   epochs_run, best_epoch, best_dice, stop_reason, learning_rate, batch_size, duration_s,
                   epochs_energy_kj, total_energy_kj, energy_estimated, co2_g, error, {added}
            FROM runs {filter}
            """, parameters);
        using var reader = command.ExecuteReader();
        var runs = new List<StoredRun>();
        while (reader.Read())
        {
            runs.Add(new StoredRun
            {
                Name = reader.GetString(0), Position = reader.GetInt32(1), OptionsYaml = reader.GetString(2), Changes = reader.GetString(3),
                Status = Enum.Parse<RunStatus>(reader.GetString(4)), RunFolder = Text(reader, 5), Model = reader.GetString(6),
                Parameters = reader.GetInt64(7), GigaMacs = reader.GetDouble(8),
                StartedUtc = Text(reader, 9) is { } started ? DateTimeOffset.Parse(started, CultureInfo.InvariantCulture) : null,
                FinishedUtc = Text(reader, 10) is { } finished ? DateTimeOffset.Parse(finished, CultureInfo.InvariantCulture) : null,
                EpochsRun = Integer(reader, 11), BestEpoch = Integer(reader, 12), BestDice = Real(reader, 13), StopReason = Text(reader, 14),
                LearningRate = Real(reader, 15), BatchSize = Integer(reader, 16), DurationSeconds = Real(reader, 17),
                EpochsEnergyKj = Real(reader, 18), TotalEnergyKj = Real(reader, 19),
                EnergyEstimated = reader.GetInt32(20) != 0, Co2Grams = Real(reader, 21), Error = Text(reader, 22),
                Parent = Text(reader, 23), Derivation = Text(reader, 24) ?? "", CumulativeEnergyKj = Real(reader, 25),
                Deployment = Real(reader, 26) is double file
                    ? new DeploymentMeasurement(file, Real(reader, 27) ?? 0, reader.GetInt64(7), reader.GetDouble(8), Real(reader, 28), Real(reader, 29),
                        Real(reader, 30) ?? double.NaN, Real(reader, 31) ?? double.NaN, Integer(reader, 32) is 1)
                    : null,
            });
        }
        return runs;
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    private static double? Real(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
    private static double RealOrNaN(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? double.NaN : reader.GetDouble(ordinal);
    private static int? Integer(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    /// <summary>The first option that differs between two config YAMLs, for the error message.</summary>
    /// <summary>
    /// A stored plan as today's GreenSeg writes it: a study planned by an earlier one (flat options, before the
    /// sections; no key for an option added since) resumes when it asks for the same; null when it no longer reads.
    /// </summary>
    private static string? ReadBack(string storedYaml)
    {
        try
        {
            return TrainingOptions.ParseWritten(storedYaml, "the stored plan").ToYaml();
        }
        catch (GreenSegException)
        {
            return null;
        }
    }

    private static string Difference(string stored, string planned)
    {
        var a = stored.Split('\n');
        var b = planned.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            string left = i < a.Length ? a[i].Trim() : "", right = i < b.Length ? b[i].Trim() : "";
            if (left != right) return $"stored '{left}', now '{right}'";
        }
        return "same text";
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture);

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) =>
        SqliteDatabase.Command(_connection, _transaction, sql, parameters);

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
