using Npgsql;
using Twin.Persistence.Codec;
using Twin.Persistence.Sql;

namespace Twin.Persistence.Postgres;

/// <summary>
/// Streams a SELECT of journal rows on its own connection (Npgsql reads rows as they arrive, so
/// a run of any length is read in constant memory). Payloads are copied into one reused buffer.
/// </summary>
internal sealed class PostgresCursor : IJournalCursor
{
    private readonly PostgresJournal _journal;
    private readonly string _doing;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlCommand _command;
    private readonly NpgsqlDataReader _reader;
    private byte[] _buffer = new byte[256];
    private long _ordering;
    private string _pid = "";
    private long _sequenceNr;
    private int _manifest;
    private long _timestampNs;
    private int _payloadLength;

    public PostgresCursor(PostgresJournal journal, string doing, string sql, params object[] parameters)
    {
        _journal = journal;
        _doing = doing;
        try
        {
            _connection = journal.DataSource.OpenConnection();
            _command = new NpgsqlCommand(sql, _connection);
            foreach (object p in parameters) _command.Parameters.AddWithValue(p);
            _reader = _command.ExecuteReader();
        }
        catch (Exception e)
        {
            _connection?.Dispose();
            throw PostgresErrors.Translate(e, $"{journal.Uri}: {doing}");
        }
    }

    public JournalEntry Current => new(_ordering, _pid, _sequenceNr, _manifest, _timestampNs, _buffer.AsSpan(0, _payloadLength));

    public bool MoveNext()
    {
        try
        {
            if (!_reader.Read()) return false;
            _ordering = _reader.GetInt64(0);
            _pid = _reader.GetString(1);
            _sequenceNr = _reader.GetInt64(2);
            // created is the event's virtual time + 1 (the plugin replaces a zero with wall-clock ticks).
            _timestampNs = _reader.GetInt64(4) - 1;
            if (_reader.IsDBNull(6) || _reader.GetInt32(6) != StoredEventSerializer.Id)
            {
                string id = _reader.IsDBNull(6) ? "NULL" : _reader.GetInt32(6).ToString(System.Globalization.CultureInfo.InvariantCulture);
                throw new JournalCorruptException($"{_journal.Uri}: journal row {_ordering} ({_pid} #{_sequenceNr}) is not a Twin event: serializer identifier {id}, Twin's is {StoredEventSerializer.Id}");
            }
            string manifest = _reader.IsDBNull(3) ? "" : _reader.GetString(3);
            if (!ManifestColumn.TryParse(manifest, out _manifest))
            {
                throw new JournalCorruptException($"{_journal.Uri}: journal row {_ordering} ({_pid} #{_sequenceNr}) is corrupt: manifest '{manifest}'");
            }
            int stored = (int)_reader.GetBytes(5, 0, null, 0, 0);
            if (_buffer.Length < stored) _buffer = new byte[Math.Max(stored, _buffer.Length * 2)];
            _reader.GetBytes(5, 0, _buffer, 0, stored);
            _payloadLength = RowCheck.Open(_buffer.AsSpan(0, stored), _manifest, _sequenceNr).Length;
            return true;
        }
        catch (CorruptPayloadException e)
        {
            throw new JournalCorruptException($"{_journal.Uri}: journal row {_ordering} ({_pid} #{_sequenceNr}) is corrupt: {e.Message}", e);
        }
        catch (Exception e) when (e is not JournalException)
        {
            throw PostgresErrors.Translate(e, $"{_journal.Uri}: {_doing}, after ordering {_ordering}");
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _command.Dispose();
        _connection.Dispose();
    }
}
