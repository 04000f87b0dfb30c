using Microsoft.Data.Sqlite;

namespace GreenSeg.Common;

/// <summary>Opens GreenSeg's SQLite files (study.db, crossval.db): one unpooled connection, a clear error naming the file.</summary>
public static class SqliteDatabase
{
    /// <summary>
    /// Opens the file (creating it, and its folder, unless <paramref name="readOnly"/>) and hands the open
    /// connection to <paramref name="initialize"/>; any SQLite error on the way is an error naming the file.
    /// </summary>
    public static T Open<T>(string path, bool readOnly, string kind, Func<SqliteConnection, T> initialize)
    {
        if (!readOnly) Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            return initialize(connection);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new InvalidInputException(path, $"not a readable {kind} database ({e.Message})", e);
        }
    }

    /// <summary>
    /// A command with named parameters in the given transaction; SQLite has no NaN (a final run's or a skipped epoch's
    /// validation figures, a trial not yet scored), so NaN is stored as NULL, which the stores read back as NaN.
    /// </summary>
    public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql,
        IEnumerable<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value is double.NaN ? DBNull.Value : value ?? DBNull.Value);
        return command;
    }
}
