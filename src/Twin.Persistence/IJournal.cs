namespace Twin.Persistence;

/// <summary>
/// Event journal and snapshot store, after Akka.Persistence's journal contract. Rows are keyed
/// by (persistence_id, sequence_number), unique; <c>ordering</c> is the global write order.
/// Every backend (memory, SQLite, later PostgreSQL) passes the same contract test suite.
/// </summary>
public interface IJournal : IDisposable
{
    /// <summary>The URI it was opened from, for messages.</summary>
    string Uri { get; }

    /// <summary>Starts a run and returns its only writer.</summary>
    /// <exception cref="JournalConflictException">a run with this id exists: it has (or had) its own writer.</exception>
    IJournalWriter StartRun(RunStart start);

    RunInfo? FindRun(string runId);

    /// <summary>
    /// A writer for run <paramref name="run"/>, left running by a writer that is gone (killed): the
    /// run's writer becomes <paramref name="writerUuid"/>, and rows are appended after its
    /// committed ones (each stream goes on from its highest sequence number).
    /// </summary>
    /// <exception cref="JournalConflictException">the run is finished, or another writer took it over first.</exception>
    IJournalWriter TakeOverRun(RunInfo run, string writerUuid) =>
        throw new JournalFormatException($"{Uri} does not outlive its process: there is no run to take over");

    /// <summary>All runs, oldest first.</summary>
    IReadOnlyList<RunInfo> ListRuns();

    /// <summary>Highest sequence number ever written for the id (0 if none); never lowered by deletes.</summary>
    long ReadHighestSequenceNr(string persistenceId);

    /// <summary>Rows of one persistence id with <paramref name="fromSequenceNr"/> ≤ seq ≤ <paramref name="toSequenceNr"/>, at most <paramref name="max"/>, deleted rows skipped.</summary>
    IJournalCursor ReadMessages(string persistenceId, long fromSequenceNr, long toSequenceNr, long max);

    /// <summary>Every row of a run in global order, deleted rows skipped.</summary>
    IJournalCursor ReadRun(RunInfo run);

    /// <summary>
    /// Removes a run: its rows, checkpoints, snapshots and its <c>runs</c> row, in one transaction.
    /// For a run a killed writer left half-written, before it is written again from its seed.
    /// </summary>
    void DeleteRun(RunInfo run);

    /// <summary>The soak campaigns kept beside the runs of this journal.</summary>
    /// <exception cref="JournalFormatException">the journal keeps nothing across processes (memory:, none:).</exception>
    Campaigns.ICampaignStore OpenCampaigns() =>
        throw new JournalFormatException($"{Uri} cannot hold a soak campaign: a campaign lives in a sqlite: or postgres: journal");

    /// <summary>
    /// A writer for an existing run that skips the run claim, as a second process with a stale
    /// view would. Exists so tests can show that the journal itself refuses duplicate rows.
    /// </summary>
    internal IJournalWriter OpenUnclaimedWriter(RunInfo run);

    /// <summary>Run-wide state-hash checkpoints, in event order.</summary>
    IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run);

    /// <summary>Records the event types writers use, so a stored journal explains its own manifest numbers. Journals that keep nothing ignore it.</summary>
    void RegisterManifests(IEnumerable<Codec.EventManifest> manifests)
    {
    }
}

/// <summary>
/// The single writer of a run. Appends are buffered and committed in groups (one transaction per
/// group); an atomic section (PersistAll) is never split across transactions. Appending
/// allocates nothing: persistence ids are registered once as stream handles.
/// </summary>
public interface IJournalWriter : IDisposable
{
    RunInfo Run { get; }

    /// <summary>Registers a run-relative stream name ("cpu-0") and returns the handle used by <see cref="Append"/>.</summary>
    int RegisterStream(string stream);

    /// <summary>Queues one event row. Sequence numbers must increase by one per stream.</summary>
    void Append(int stream, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload);

    /// <summary>
    /// The next <paramref name="rowCount"/> rows, appended before <see cref="EndAtomic"/>, commit
    /// together or not at all (Akka's AtomicWrite). A group larger than a batch is refused.
    /// </summary>
    void BeginAtomic(int rowCount);

    void EndAtomic();

    /// <summary>Queues a run checkpoint and hands the rows before it to the committer; it is stored once every event before it is committed, never before.</summary>
    void AppendCheckpoint(Checkpoint checkpoint);

    /// <summary>Blocks until every appended row is committed.</summary>
    /// <exception cref="JournalException">a commit failed; nothing after the last good commit is stored.</exception>
    void Flush();

    /// <summary>Rows known to be durable so far (a background commit may be behind <see cref="AppendedEvents"/>).</summary>
    long CommittedEvents { get; }

    long AppendedEvents { get; }

    /// <summary>Flushes, records the final status and summary, and releases the run.</summary>
    void Complete(RunStatus status, string summaryJson);
}
