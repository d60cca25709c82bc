using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Twin.Persistence.Codec;

namespace Twin.Persistence.Sqlite;

/// <summary>
/// Steps a prepared SELECT on its own connection. Payload spans point into SQLite's buffers and
/// are valid until the next step; persistence ids are interned, so a replay of millions of rows
/// allocates once per distinct id.
/// </summary>
internal sealed class SqliteCursor : IJournalCursor
{
    private readonly SqliteConnection _connection;
    private readonly string _path;
    private readonly sqlite3_stmt _stmt;
    private readonly Dictionary<ulong, (byte[] Utf8, string Text)> _pids = [];
    private long _ordering;
    private string _pid = "";
    private long _sequenceNr;
    private int _manifest;
    private long _timestampNs;
    private int _payloadLength;
    private bool _done;

    public SqliteCursor(SqliteConnection connection, string path, string sql, Action<sqlite3_stmt> bind)
    {
        _connection = connection;
        _path = path;
        int rc = raw.sqlite3_prepare_v2(connection.Handle!, sql, out _stmt);
        if (rc != raw.SQLITE_OK)
        {
            string message = raw.sqlite3_errmsg(connection.Handle!).utf8_to_string();
            connection.Dispose();
            throw new JournalFormatException($"'{path}': cannot read the journal table ({message})");
        }
        bind(_stmt);
    }

    public JournalEntry Current
    {
        get
        {
            ReadOnlySpan<byte> stored = raw.sqlite3_column_blob(_stmt, 5);
            return new JournalEntry(_ordering, _pid, _sequenceNr, _manifest, _timestampNs, stored[.._payloadLength]);
        }
    }

    public bool MoveNext()
    {
        if (_done) return false;
        int rc = raw.sqlite3_step(_stmt);
        if (rc == raw.SQLITE_DONE)
        {
            _done = true;
            return false;
        }
        if (rc != raw.SQLITE_ROW)
        {
            string message = raw.sqlite3_errmsg(_connection.Handle!).utf8_to_string();
            throw new JournalCorruptException($"sqlite:{_path}: reading the row after ordering {_ordering} failed ({message})");
        }
        _ordering = raw.sqlite3_column_int64(_stmt, 0);
        if (raw.sqlite3_column_type(_stmt, 1) != raw.SQLITE_TEXT || raw.sqlite3_column_type(_stmt, 2) != raw.SQLITE_INTEGER
            || raw.sqlite3_column_type(_stmt, 3) != raw.SQLITE_TEXT || raw.sqlite3_column_type(_stmt, 4) != raw.SQLITE_INTEGER
            || raw.sqlite3_column_type(_stmt, 5) != raw.SQLITE_BLOB)
        {
            throw new JournalCorruptException($"sqlite:{_path}: journal row {_ordering} is corrupt: a column holds a value of the wrong type");
        }
        _pid = Intern(raw.sqlite3_column_blob(_stmt, 1));
        _sequenceNr = raw.sqlite3_column_int64(_stmt, 2);
        // created is the event's virtual time + 1 (the plugin replaces a zero with wall-clock ticks).
        _timestampNs = raw.sqlite3_column_int64(_stmt, 4) - 1;
        if (raw.sqlite3_column_type(_stmt, 6) != raw.SQLITE_INTEGER || raw.sqlite3_column_int(_stmt, 6) != Sql.StoredEventSerializer.Id)
        {
            throw new JournalCorruptException($"sqlite:{_path}: journal row {_ordering} ({_pid} #{_sequenceNr}) is not a Twin event: serializer identifier {raw.sqlite3_column_text(_stmt, 6).utf8_to_string()}, Twin's is {Sql.StoredEventSerializer.Id}");
        }
        if (!ManifestColumn.TryParse(raw.sqlite3_column_blob(_stmt, 3), out _manifest))
        {
            throw new JournalCorruptException($"sqlite:{_path}: journal row {_ordering} ({_pid} #{_sequenceNr}) is corrupt: manifest '{raw.sqlite3_column_text(_stmt, 3).utf8_to_string()}'");
        }
        try
        {
            _payloadLength = RowCheck.Open(raw.sqlite3_column_blob(_stmt, 5), _manifest, _sequenceNr).Length;
        }
        catch (CorruptPayloadException e)
        {
            throw new JournalCorruptException($"sqlite:{_path}: journal row {_ordering} ({_pid} #{_sequenceNr}) is corrupt: {e.Message}", e);
        }
        return true;
    }

    public void Dispose()
    {
        _stmt.Dispose();
        _connection.Dispose();
    }

    private string Intern(ReadOnlySpan<byte> utf8)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in utf8) h = (h ^ b) * 1099511628211UL;
        if (_pids.TryGetValue(h, out (byte[] Utf8, string Text) hit) && utf8.SequenceEqual(hit.Utf8)) return hit.Text;
        string text = Encoding.UTF8.GetString(utf8);
        _pids[h] = (utf8.ToArray(), text);
        return text;
    }
}
