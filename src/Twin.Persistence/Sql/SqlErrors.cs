using Microsoft.Data.Sqlite;
using Npgsql;
using Twin.Persistence.Postgres;
using Twin.Persistence.Sqlite;

namespace Twin.Persistence.Sql;

/// <summary>
/// Finds the database's own error inside what the plugin reports (it wraps driver errors in its
/// own exceptions, sometimes twice) and words it like every other journal error.
/// </summary>
internal static class SqlErrors
{
    public static JournalException Translate(Exception e, string uri, string doing)
    {
        string where = $"{uri}: {doing}";
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case JournalException already:
                    return already;
                case SqliteException s when s.SqliteErrorCode == SQLitePCL.raw.SQLITE_CONSTRAINT:
                    return new JournalConflictException($"{where}: rows with these sequence numbers are already written: another writer holds the run", s);
                case SqliteException s:
                    return SqliteJournal.Translate(s, where);
                case PostgresException p when p.SqlState == PostgresErrorCodes.UniqueViolation:
                    return new JournalConflictException($"{where}: rows with these sequence numbers are already written: another writer holds the run", p);
                case NpgsqlException n:
                    return PostgresErrors.Translate(n, where);
                case AggregateException { InnerExceptions.Count: 1 } a:
                    return Translate(a.InnerExceptions[0], uri, doing);
            }
        }
        return new JournalStorageException($"{where}: {Innermost(e).Message.TrimEnd('.')}", e);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
