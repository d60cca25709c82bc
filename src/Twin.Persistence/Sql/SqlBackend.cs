using LinqToDB;

namespace Twin.Persistence.Sql;

/// <summary>
/// Where Akka.Persistence.Sql keeps a journal: the linq2db provider, the ADO.NET connection
/// string, and the options the plugin connects with (linq2db's <see cref="DataOptions"/>, which is
/// where SQLite's per-connection pragmas are set: the plugin has no key for them).
/// </summary>
internal sealed record SqlBackend(string Uri, string ProviderName, string ConnectionString, DataOptions Options)
{
    /// <summary>The per-connection PRAGMAs of an SQLite backend (null for PostgreSQL).</summary>
    public SqlitePragmas? Pragmas { get; private init; }

    public static SqlBackend Sqlite(string uri, string path)
    {
        string cs = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadWrite,
            DefaultTimeout = 30,
            Pooling = true,
        }.ToString();
        var pragmas = new SqlitePragmas();
        DataOptions options = new DataOptions()
            .UseConnectionString(LinqToDB.ProviderName.SQLiteMS, cs)
            .UseInterceptor(pragmas);
        return new SqlBackend(uri, LinqToDB.ProviderName.SQLiteMS, cs, options) { Pragmas = pragmas };
    }

    /// <remarks>
    /// Bulk inserts by binary COPY (linq2db's provider-specific bulk copy, through Npgsql) instead
    /// of its default multi-row INSERT text: the plugin asks for the provider's default.
    /// </remarks>
    public static SqlBackend Postgres(string uri, string connectionString) =>
        new(uri, LinqToDB.ProviderName.PostgreSQL15, connectionString,
            new DataOptions()
                .UseConnectionString(LinqToDB.ProviderName.PostgreSQL15, connectionString)
                .WithOptions<LinqToDB.DataProvider.PostgreSQL.PostgreSQLOptions>(o => o with { BulkCopyType = LinqToDB.Data.BulkCopyType.ProviderSpecific }));
}
