using Npgsql;

namespace Twin.Simulation.Bench;

/// <summary>A schema of its own for one PostgreSQL bench repetition, dropped when disposed.</summary>
internal sealed class PostgresBenchSchema : IDisposable
{
    private readonly string _server;
    private readonly string _name;

    private PostgresBenchSchema(string server, string name, string connectionString)
    {
        _server = server;
        _name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The server's connection string with the schema as its search path.</summary>
    public string ConnectionString { get; }

    public static PostgresBenchSchema Create(string server)
    {
        string name = $"twin_bench_{Guid.NewGuid():N}";
        Exec(server, $"CREATE SCHEMA {name}");
        var builder = new NpgsqlConnectionStringBuilder(server) { SearchPath = name };
        return new PostgresBenchSchema(server, name, builder.ConnectionString);
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        Exec(_server, $"DROP SCHEMA IF EXISTS {_name} CASCADE");
    }

    private static void Exec(string connectionString, string sql)
    {
        try
        {
            using var c = new NpgsqlConnection(connectionString);
            c.Open();
            using var cmd = new NpgsqlCommand(sql, c);
            cmd.ExecuteNonQuery();
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or System.Net.Sockets.SocketException)
        {
            throw new Twin.Persistence.JournalStorageException($"--postgres: {sql.Split(' ')[0].ToLowerInvariant()} of a bench schema failed ({e.Message.TrimEnd('.')})", e);
        }
    }
}
