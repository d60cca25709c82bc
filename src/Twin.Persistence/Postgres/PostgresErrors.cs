using System.Net.Sockets;
using Npgsql;

namespace Twin.Persistence.Postgres;

/// <summary>Turns Npgsql's and the server's errors into the journal's own, worded for a person.</summary>
internal static class PostgresErrors
{
    public static JournalException Translate(Exception e, string where)
    {
        if (e is JournalException already) return already;
        if (e is PostgresException pg)
        {
            string text = pg.MessageText.TrimEnd('.');
            return pg.SqlState switch
            {
                PostgresErrorCodes.UniqueViolation => new JournalConflictException($"{where}: {text}", e),
                PostgresErrorCodes.DiskFull => new JournalStorageException($"{where}: the database server's disk is full", e),
                PostgresErrorCodes.InvalidCatalogName => new JournalStorageException($"{where}: {text}", e),
                PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification
                    => new JournalStorageException($"{where}: the server refused the login ({text})", e),
                PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn
                    => new JournalFormatException($"{where}: not a Twin journal ({text})", e),
                PostgresErrorCodes.ReadOnlySqlTransaction or PostgresErrorCodes.InsufficientPrivilege
                    => new JournalStorageException($"{where}: cannot write the journal ({text})", e),
                // The server ended the connection (restart, admin kill, crash) or cannot take one yet.
                PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                    => new JournalUnavailableException($"{where}: the server closed the connection ({text})", e),
                _ when pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal) => new JournalUnavailableException($"{where}: {text} (SQLSTATE {pg.SqlState})", e),
                _ => new JournalStorageException($"{where}: {text} (SQLSTATE {pg.SqlState})", e),
            };
        }
        if (e is NpgsqlException or SocketException or TimeoutException or IOException)
        {
            return new JournalUnavailableException($"{where}: cannot reach the PostgreSQL server ({Innermost(e).Message.TrimEnd('.')})", e);
        }
        return new JournalStorageException($"{where}: {e.Message}", e);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
