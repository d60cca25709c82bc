using Npgsql;
using Twin.Persistence.Sql;

namespace Twin.Persistence.Postgres;

/// <summary>A run writer's rows in Twin's own tables of a PostgreSQL journal.</summary>
internal sealed class PostgresRunTables(PostgresJournal journal, RunInfo run, bool resumed) : ISqlRunTables
{
    public long ReadHighestSequenceNr(string persistenceId) => journal.ReadHighestSequenceNr(persistenceId);

    public void AfterCommit((string PersistenceId, long SequenceNr)? firstRow, IReadOnlyList<Checkpoint> checkpoints) =>
        journal.Do($"writing checkpoints of run '{run.RunId}'", c =>
        {
            using NpgsqlTransaction tx = c.BeginTransaction();
            using NpgsqlBatch batch = new(c, tx);
            if (firstRow is { } first)
            {
                // A resumed run whose first row was never recorded (killed between the plugin's
                // commit and this one) takes its lowest row.
                var cmd = new NpgsqlBatchCommand(resumed
                    ? "UPDATE runs SET first_ordering = (SELECT MIN(ordering) FROM journal WHERE starts_with(persistence_id, $2)) WHERE run_no = $1 AND first_ordering IS NULL"
                    : "UPDATE runs SET first_ordering = (SELECT ordering FROM journal WHERE persistence_id = $2 AND sequence_number = $3) WHERE run_no = $1 AND first_ordering IS NULL");
                cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = run.RunNo });
                cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = resumed ? run.PersistenceIdPrefix : first.PersistenceId });
                if (!resumed) cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = first.SequenceNr });
                batch.BatchCommands.Add(cmd);
            }
            foreach (Checkpoint checkpoint in checkpoints)
            {
                var cmd = new NpgsqlBatchCommand("""
                    INSERT INTO checkpoints(run_no, event_count, timestamp, state_hash) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (run_no, event_count) DO UPDATE SET timestamp = EXCLUDED.timestamp, state_hash = EXCLUDED.state_hash
                    """);
                cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = run.RunNo });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint.EventCount });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint.TimestampNs });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = unchecked((long)checkpoint.StateHash) });
                batch.BatchCommands.Add(cmd);
            }
            if (batch.BatchCommands.Count > 0) batch.ExecuteNonQuery();
            tx.Commit();
            return 0;
        });

    public void MarkRunFinished(RunStatus status, string summaryJson) => journal.MarkRunFinished(run, status, summaryJson);

    public void Dispose()
    {
    }
}
