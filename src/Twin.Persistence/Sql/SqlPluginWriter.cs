using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Twin.Persistence.Sql;

/// <summary>
/// A run's writer on Akka.Persistence.Sql. The simulation thread fills batches without
/// allocating (<see cref="GroupCommitWriter"/>); the committing thread turns everything pending
/// into one WriteMessages to the plugin's journal (one AtomicWrite per stretch of one stream's
/// events, all of them in the plugin's one transaction), waits for its answer, then records
/// the group's checkpoints in Twin's table. A checkpoint is therefore never stored before the
/// events it covers. Backpressure: while the plugin commits, the simulation fills the free
/// batches and then waits for one.
/// </summary>
internal sealed class SqlPluginWriter : GroupCommitWriter
{
    private readonly SqlPluginStarter _plugin;
    private readonly RunCatalog _catalog;
    private readonly bool _resumed;
    private SqlPluginStorage? _storage;
    private IActorRef? _replies;
    private readonly ImmutableHashSet<string> _tags;
    private readonly List<AtomicWrite> _writes = [];
    private readonly List<Checkpoint> _checkpoints = [];
    private readonly ImmutableArray<IPersistentRepresentation>.Builder _stretch = ImmutableArray.CreateBuilder<IPersistentRepresentation>();
    private bool _firstRowRecorded;

    /// <param name="resumed">The run was taken over from a killed writer: its first row may be stored already.</param>
    public SqlPluginWriter(SqlPluginStarter plugin, RunCatalog catalog, RunInfo run, bool resumed)
        : base(run, batchRows: 8192, background: true)
    {
        _plugin = plugin;
        _catalog = catalog;
        _resumed = resumed;
        _tags = ImmutableHashSet.Create(run.Tag);
    }

    protected override long ReadHighestSequenceNr(string persistenceId) => _catalog.HighestSequenceNr(persistenceId);

    protected override void CommitBatches(IReadOnlyList<RowBatch> batches)
    {
        _writes.Clear();
        _checkpoints.Clear();
        string[] streams = Streams;
        int events = 0;
        (string, long)? first = null;
        int stretchStream = -1;
        foreach (RowBatch batch in batches)
        {
            for (int i = 0; i < batch.Count; i++)
            {
                ref RowBatch.Row row = ref batch.Rows[i];
                if (row.IsCheckpoint)
                {
                    _checkpoints.Add(new Checkpoint(row.SequenceNr, row.TimestampNs, row.StateHash));
                    continue;
                }
                if (row.Stream != stretchStream) CloseStretch();
                stretchStream = row.Stream;
                string pid = streams[row.Stream];
                first ??= (pid, row.SequenceNr);
                var stored = new StoredEvent(row.Manifest, batch.PayloadOf(in row).ToArray());
                // The plugin writes wall-clock ticks in place of a zero timestamp: created holds virtual ns + 1.
                _stretch.Add(new TimedRepresentation(new Tagged(stored, _tags), row.SequenceNr, pid, Run.WriterUuid, row.TimestampNs + 1));
                events++;
            }
        }
        CloseStretch();
        if (events > 0)
        {
            // The plugin may still be starting (it starts beside the simulation's boot): wait here, on the committing thread.
            _storage ??= _plugin.Get();
            _replies ??= _storage.NewReplies($"writer-{Run.RunNo}-{Guid.NewGuid():N}");
            _storage.Write(_writes, events, _replies);
        }
        bool recordFirst = !_firstRowRecorded && first is not null;
        if (recordFirst || _checkpoints.Count > 0) _catalog.AfterCommit(Run, _resumed, recordFirst ? first : null, _checkpoints);
        if (recordFirst) _firstRowRecorded = true;
    }

    protected override void MarkRunFinished(RunStatus status, string summaryJson) => _catalog.MarkFinished(Run, status, summaryJson);

    protected override void DisposeStorage()
    {
        if (_replies is not null) _storage!.Stop(_replies);
    }

    private void CloseStretch()
    {
        if (_stretch.Count == 0) return;
        _writes.Add(new AtomicWrite(_stretch.ToImmutable()));
        _stretch.Clear();
    }
}
