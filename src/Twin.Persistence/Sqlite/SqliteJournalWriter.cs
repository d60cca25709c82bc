using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Twin.Persistence.Sqlite;

/// <summary>
/// Commits groups of rows with prepared statements on the raw SQLite handle: a 32-row insert for
/// full chunks and a one-row insert for the rest, all in one IMMEDIATE transaction per group.
/// Payloads are bound from spans; persistence ids from UTF-8 encoded once per stream.
/// </summary>
internal sealed class SqliteJournalWriter : GroupCommitWriter
{
    private const int RowsPerInsert = 32;
    private const int ColumnsPerRow = 5;

    private readonly SqliteJournal _journal;
    private readonly SqliteConnection _connection;
    private readonly sqlite3 _db;
    private readonly List<byte[]> _pidUtf8 = [];
    private sqlite3_stmt? _insertMany;
    private sqlite3_stmt? _insertOne;
    private sqlite3_stmt? _insertCheckpoint;
    private bool _firstOrderingSet;

    public SqliteJournalWriter(SqliteJournal journal, RunInfo run, SqliteConnection connection)
        : base(run, batchRows: 8192, background: true)
    {
        _journal = journal;
        _connection = connection;
        _db = connection.Handle!;
    }

    protected override long ReadHighestSequenceNr(string persistenceId) => _journal.ReadHighestSequenceNr(persistenceId);

    protected override void CommitBatches(IReadOnlyList<RowBatch> batches)
    {
        Prepare();
        Exec("BEGIN IMMEDIATE");
        try
        {
            foreach (RowBatch batch in batches) InsertBatch(batch);
            Exec("COMMIT");
        }
        catch
        {
            raw.sqlite3_exec(_db, "ROLLBACK");
            throw;
        }
    }

    protected override void MarkRunFinished(RunStatus status, string summaryJson) => _journal.MarkRunFinished(Run, status, summaryJson);

    protected override void DisposeStorage()
    {
        _insertMany?.Dispose();
        _insertOne?.Dispose();
        _insertCheckpoint?.Dispose();
        _connection.Dispose();
    }

    private void InsertBatch(RowBatch batch)
    {
        if (!_firstOrderingSet && batch.EventCount > 0)
        {
            // Inside the IMMEDIATE transaction no other writer can take the next rowid.
            Exec($"UPDATE runs SET first_ordering = (SELECT COALESCE(MAX(ordering), 0) + 1 FROM journal) WHERE run_no = {Run.RunNo} AND first_ordering IS NULL");
            _firstOrderingSet = true;
        }
        string[] streams = Streams;
        int i = 0;
        while (i < batch.Count)
        {
            if (batch.Rows[i].IsCheckpoint)
            {
                InsertCheckpoint(in batch.Rows[i]);
                i++;
                continue;
            }
            int run = 0;
            while (i + run < batch.Count && run < RowsPerInsert && !batch.Rows[i + run].IsCheckpoint) run++;
            if (run == RowsPerInsert)
            {
                for (int k = 0; k < run; k++) Bind(_insertMany!, k * ColumnsPerRow, batch, in batch.Rows[i + k], streams);
                Step(_insertMany!, batch, i);
            }
            else
            {
                for (int k = 0; k < run; k++)
                {
                    Bind(_insertOne!, 0, batch, in batch.Rows[i + k], streams);
                    Step(_insertOne!, batch, i + k);
                }
            }
            i += run;
        }
    }

    private void Bind(sqlite3_stmt stmt, int offset, RowBatch batch, in RowBatch.Row row, string[] streams)
    {
        raw.sqlite3_bind_text(stmt, offset + 1, PidUtf8(row.Stream, streams));
        raw.sqlite3_bind_int64(stmt, offset + 2, row.SequenceNr);
        raw.sqlite3_bind_int(stmt, offset + 3, row.Manifest);
        raw.sqlite3_bind_blob(stmt, offset + 4, batch.PayloadOf(in row));
        raw.sqlite3_bind_int64(stmt, offset + 5, row.TimestampNs);
    }

    private void Step(sqlite3_stmt stmt, RowBatch batch, int firstRow)
    {
        int rc = raw.sqlite3_step(stmt);
        raw.sqlite3_reset(stmt);
        if (rc == raw.SQLITE_DONE) return;
        ref RowBatch.Row row = ref batch.Rows[firstRow];
        string pid = Streams[row.Stream];
        if ((rc & 0xFF) == raw.SQLITE_CONSTRAINT)
        {
            throw new JournalConflictException(
                $"{_journal.Uri}: rows of {pid} from sequence {row.SequenceNr} are already written: another writer holds run '{Run.RunId}'");
        }
        throw Error(rc, $"writing {pid} #{row.SequenceNr}");
    }

    private void InsertCheckpoint(in RowBatch.Row row)
    {
        sqlite3_stmt stmt = _insertCheckpoint!;
        raw.sqlite3_bind_int(stmt, 1, Run.RunNo);
        raw.sqlite3_bind_int64(stmt, 2, row.SequenceNr);
        raw.sqlite3_bind_int64(stmt, 3, row.TimestampNs);
        raw.sqlite3_bind_int64(stmt, 4, unchecked((long)row.StateHash));
        int rc = raw.sqlite3_step(stmt);
        raw.sqlite3_reset(stmt);
        if (rc != raw.SQLITE_DONE) throw Error(rc, $"writing checkpoint at event {row.SequenceNr}");
    }

    private ReadOnlySpan<byte> PidUtf8(int stream, string[] streams)
    {
        while (_pidUtf8.Count <= stream) _pidUtf8.Add(Encoding.UTF8.GetBytes(streams[_pidUtf8.Count]));
        return _pidUtf8[stream];
    }

    private void Prepare()
    {
        if (_insertOne is not null) return;
        const string columns = "INSERT INTO journal(persistence_id, sequence_number, manifest, payload, timestamp) VALUES ";
        var many = new StringBuilder(columns);
        for (int k = 0; k < RowsPerInsert; k++)
        {
            if (k > 0) many.Append(',');
            int b = k * ColumnsPerRow;
            many.Append($"(?{b + 1},?{b + 2},?{b + 3},?{b + 4},?{b + 5})");
        }
        _insertMany = PrepareOne(many.ToString());
        _insertOne = PrepareOne(columns + "(?1,?2,?3,?4,?5)");
        _insertCheckpoint = PrepareOne("INSERT OR REPLACE INTO checkpoints(run_no, event_count, timestamp, state_hash) VALUES (?1,?2,?3,?4)");
    }

    private sqlite3_stmt PrepareOne(string sql)
    {
        int rc = raw.sqlite3_prepare_v2(_db, sql, out sqlite3_stmt stmt);
        if (rc != raw.SQLITE_OK) throw Error(rc, "preparing the insert statements");
        return stmt;
    }

    private void Exec(string sql)
    {
        int rc = raw.sqlite3_exec(_db, sql);
        if (rc != raw.SQLITE_OK) throw Error(rc, sql.Split(' ')[0].ToLowerInvariant());
    }

    private JournalException Error(int rc, string doing)
    {
        string message = raw.sqlite3_errmsg(_db).utf8_to_string();
        string where = $"{_journal.Uri}: {doing}";
        return (rc & 0xFF) switch
        {
            raw.SQLITE_FULL => new JournalStorageException($"{where}: the disk is full"),
            raw.SQLITE_READONLY or raw.SQLITE_IOERR or raw.SQLITE_CANTOPEN or raw.SQLITE_PERM
                => new JournalStorageException($"{where}: cannot write the journal file ({message})"),
            raw.SQLITE_CORRUPT or raw.SQLITE_NOTADB => new JournalCorruptException($"{where}: the database file is corrupt ({message})"),
            _ => new JournalStorageException($"{where}: {message}"),
        };
    }
}
