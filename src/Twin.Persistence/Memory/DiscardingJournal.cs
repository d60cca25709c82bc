namespace Twin.Persistence.Memory;

/// <summary>
/// A journal that keeps nothing but counts (<c>none:</c>): for soak runs whose events only the
/// online monitors need. A run that fails is run again, deterministically, into a real journal.
/// </summary>
public sealed class DiscardingJournal : IJournal
{
    private readonly List<RunInfo> _runs = [];

    public string Uri => "none:";

    public IJournalWriter StartRun(RunStart start)
    {
        var run = new RunInfo(_runs.Count + 1, start.RunId, start.Seed, start.ConfigJson, start.CodeVersion, RunStatus.Running,
            start.WriterUuid, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, null);
        _runs.Add(run);
        return new Writer(run);
    }

    public RunInfo? FindRun(string runId) => _runs.Find(r => r.RunId == runId);

    public IReadOnlyList<RunInfo> ListRuns() => _runs;

    public long ReadHighestSequenceNr(string persistenceId) => 0;

    public IJournalCursor ReadMessages(string persistenceId, long fromSequenceNr, long toSequenceNr, long max) => new Empty();

    public IJournalCursor ReadRun(RunInfo run) => new Empty();

    public void DeleteRun(RunInfo run) => _runs.RemoveAll(r => r.RunNo == run.RunNo);

    public IReadOnlyList<Checkpoint> ReadCheckpoints(RunInfo run) => [];

    IJournalWriter IJournal.OpenUnclaimedWriter(RunInfo run) => new Writer(run);

    public void Dispose()
    {
    }

    private sealed class Writer(RunInfo run) : IJournalWriter
    {
        private readonly List<string> _streams = [];

        public RunInfo Run { get; } = run;

        public bool KeepsEvents => false;

        public long CommittedEvents { get; private set; }

        public long AppendedEvents => CommittedEvents;

        public int RegisterStream(string stream)
        {
            _streams.Add(stream);
            return _streams.Count - 1;
        }

        public void Append(int stream, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload) => CommittedEvents++;

        public void BeginAtomic(int rowCount)
        {
        }

        public void EndAtomic()
        {
        }

        public void AppendCheckpoint(Checkpoint checkpoint)
        {
        }

        public void Flush()
        {
        }

        public void Complete(RunStatus status, string summaryJson)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class Empty : IJournalCursor
    {
        public JournalEntry Current => throw new InvalidOperationException("an empty cursor has no row");

        public bool MoveNext() => false;

        public void Dispose()
        {
        }
    }
}
