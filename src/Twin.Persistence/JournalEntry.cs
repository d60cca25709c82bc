namespace Twin.Persistence;

/// <summary>
/// One journal row as seen during a replay. It is a ref struct over the reader's buffers: valid
/// only until the cursor moves, so replay copies nothing it does not need.
/// </summary>
public readonly ref struct JournalEntry
{
    public JournalEntry(long ordering, string persistenceId, long sequenceNr, int manifest, long timestampNs, ReadOnlySpan<byte> payload)
    {
        Ordering = ordering;
        PersistenceId = persistenceId;
        SequenceNr = sequenceNr;
        Manifest = manifest;
        TimestampNs = timestampNs;
        Payload = payload;
    }

    /// <summary>Global write order across all persistence ids of a journal.</summary>
    public long Ordering { get; }

    public string PersistenceId { get; }

    public long SequenceNr { get; }

    /// <summary>The manifest column: event code and payload version (see <c>EventManifest</c>).</summary>
    public int Manifest { get; }

    /// <summary>Virtual time of the event in nanoseconds (the journal's <c>timestamp</c> column).</summary>
    public long TimestampNs { get; }

    /// <summary>The encoded event, its row check already verified and removed.</summary>
    public ReadOnlySpan<byte> Payload { get; }
}

/// <summary>Pull-based reading of journal rows in ascending order.</summary>
public interface IJournalCursor : IDisposable
{
    /// <summary>Advances to the next row; false at the end.</summary>
    /// <exception cref="JournalCorruptException">the row cannot be read; names the row.</exception>
    bool MoveNext();

    JournalEntry Current { get; }
}
