using Microsoft.Data.Sqlite;
using Twin.Persistence.Sql;

namespace Twin.Persistence.Sqlite;

/// <summary>A run writer's rows in Twin's own tables of an SQLite journal, on the writer's own connection.</summary>
internal sealed class SqliteRunTables(SqliteJournal journal, RunInfo run, SqliteConnection connection, bool resumed) : ISqlRunTables
{
    public long ReadHighestSequenceNr(string persistenceId) => journal.ReadHighestSequenceNr(persistenceId);

    public void AfterCommit((string PersistenceId, long SequenceNr)? firstRow, IReadOnlyList<Checkpoint> checkpoints)
    {
        try
        {
            using SqliteTransaction tx = connection.BeginTransaction();
            if (firstRow is { } first)
            {
                // A fresh run's first row is known exactly; a resumed one whose first row was never
                // recorded (killed between the plugin's commit and this one) takes its lowest row.
                using SqliteCommand cmd = Command(tx, resumed
                    ? "UPDATE runs SET first_ordering = (SELECT MIN(ordering) FROM journal WHERE persistence_id >= $lo AND persistence_id < $hi) WHERE run_no = $r AND first_ordering IS NULL"
                    : "UPDATE runs SET first_ordering = (SELECT ordering FROM journal WHERE persistence_id = $pid AND sequence_number = $seq) WHERE run_no = $r AND first_ordering IS NULL");
                cmd.Parameters.AddWithValue("$r", run.RunNo);
                cmd.Parameters.AddWithValue("$lo", run.PersistenceIdPrefix);
                cmd.Parameters.AddWithValue("$hi", SqliteJournal.PrefixEnd(run));
                cmd.Parameters.AddWithValue("$pid", first.PersistenceId);
                cmd.Parameters.AddWithValue("$seq", first.SequenceNr);
                cmd.ExecuteNonQuery();
            }
            if (checkpoints.Count > 0)
            {
                using SqliteCommand cmd = Command(tx, "INSERT OR REPLACE INTO checkpoints(run_no, event_count, timestamp, state_hash) VALUES ($r, $n, $t, $h)");
                SqliteParameter n = cmd.Parameters.Add("$n", SqliteType.Integer), t = cmd.Parameters.Add("$t", SqliteType.Integer), h = cmd.Parameters.Add("$h", SqliteType.Integer);
                cmd.Parameters.AddWithValue("$r", run.RunNo);
                foreach (Checkpoint c in checkpoints)
                {
                    n.Value = c.EventCount;
                    t.Value = c.TimestampNs;
                    h.Value = unchecked((long)c.StateHash);
                    cmd.ExecuteNonQuery();
                }
            }
            tx.Commit();
        }
        catch (SqliteException e)
        {
            throw SqliteJournal.Translate(e, $"{journal.Uri}: writing checkpoints of run '{run.RunId}'");
        }
    }

    public void MarkRunFinished(RunStatus status, string summaryJson) => journal.MarkRunFinished(run, status, summaryJson);

    public void Dispose() => connection.Dispose();

    private SqliteCommand Command(SqliteTransaction tx, string sql)
    {
        SqliteCommand cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }
}
