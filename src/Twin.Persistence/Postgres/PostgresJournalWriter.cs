using Npgsql;
using NpgsqlTypes;

namespace Twin.Persistence.Postgres;

/// <summary>
/// Commits each group of rows in one transaction: the events by binary COPY (the fastest way
/// into PostgreSQL, one round trip per group), then the group's checkpoints. The unique
/// (persistence_id, sequence_number) constraint refuses rows another writer already stored.
/// </summary>
internal sealed class PostgresJournalWriter : GroupCommitWriter
{
    private const string Copy = "COPY journal(run_no, persistence_id, sequence_number, manifest, payload, timestamp) FROM STDIN (FORMAT BINARY)";

    private readonly PostgresJournal _journal;
    private NpgsqlConnection? _connection;

    public PostgresJournalWriter(PostgresJournal journal, RunInfo run)
        : base(run, batchRows: 8192, background: true)
    {
        _journal = journal;
    }

    protected override long ReadHighestSequenceNr(string persistenceId) => _journal.ReadHighestSequenceNr(persistenceId);

    protected override void CommitBatches(IReadOnlyList<RowBatch> batches)
    {
        try
        {
            _connection ??= _journal.DataSource.OpenConnection();
            using NpgsqlTransaction tx = _connection.BeginTransaction();
            CopyEvents(batches);
            InsertCheckpoints(batches, tx);
            tx.Commit();
        }
        catch (Exception e)
        {
            // A broken connection is not reused; the pool hands out a fresh one next time.
            _connection?.Dispose();
            _connection = null;
            if (e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                throw new JournalConflictException(
                    $"{_journal.Uri}: rows of run '{Run.RunId}' are already written: another writer holds the run ({((PostgresException)e).Detail ?? e.Message})", e);
            }
            throw PostgresErrors.Translate(e, $"{_journal.Uri}: committing rows of run '{Run.RunId}'");
        }
    }

    protected override void MarkRunFinished(RunStatus status, string summaryJson) => _journal.MarkRunFinished(Run, status, summaryJson);

    protected override void DisposeStorage() => _connection?.Dispose();

    private void CopyEvents(IReadOnlyList<RowBatch> batches)
    {
        string[] streams = Streams;
        using NpgsqlBinaryImporter copy = _connection!.BeginBinaryImport(Copy);
        foreach (RowBatch batch in batches)
        {
            for (int i = 0; i < batch.Count; i++)
            {
                ref RowBatch.Row row = ref batch.Rows[i];
                if (row.IsCheckpoint) continue;
                copy.StartRow();
                copy.Write(Run.RunNo, NpgsqlDbType.Integer);
                copy.Write(streams[row.Stream], NpgsqlDbType.Text);
                copy.Write(row.SequenceNr, NpgsqlDbType.Bigint);
                copy.Write(row.Manifest, NpgsqlDbType.Integer);
                copy.Write(new ReadOnlyMemory<byte>(batch.Bytes, row.Offset, row.Length), NpgsqlDbType.Bytea);
                copy.Write(row.TimestampNs, NpgsqlDbType.Bigint);
            }
        }
        copy.Complete();
    }

    private void InsertCheckpoints(IReadOnlyList<RowBatch> batches, NpgsqlTransaction tx)
    {
        using NpgsqlBatch insert = new(_connection, tx);
        foreach (RowBatch batch in batches)
        {
            for (int i = 0; i < batch.Count; i++)
            {
                ref RowBatch.Row row = ref batch.Rows[i];
                if (!row.IsCheckpoint) continue;
                var cmd = new NpgsqlBatchCommand("""
                    INSERT INTO checkpoints(run_no, event_count, timestamp, state_hash) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (run_no, event_count) DO UPDATE SET timestamp = EXCLUDED.timestamp, state_hash = EXCLUDED.state_hash
                    """);
                cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Run.RunNo });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = row.SequenceNr });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = row.TimestampNs });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = unchecked((long)row.StateHash) });
                insert.BatchCommands.Add(cmd);
            }
        }
        if (insert.BatchCommands.Count > 0) insert.ExecuteNonQuery();
    }
}
