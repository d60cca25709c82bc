using Microsoft.Data.Sqlite;

namespace Twin.Persistence.Tests;

/// <summary>Direct SQL on a journal file, as a person with the sqlite3 shell (or a disk fault) would change it.</summary>
public static class SqliteFile
{
    public static void Exec(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
