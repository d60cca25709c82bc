namespace Twin.Persistence.Sql;

/// <summary>
/// What a run's writer keeps in Twin's own tables beside the plugin's (the plugin has no place
/// for them): the run's first row, its checkpoints, its final status. One per writer, on a
/// connection of its own, used only by the committing thread.
/// </summary>
internal interface ISqlRunTables : IDisposable
{
    long ReadHighestSequenceNr(string persistenceId);

    /// <summary>
    /// After events are committed: records where the run's rows start (if <paramref name="firstRow"/>
    /// is its first row ever) and the checkpoints whose events are now all committed, in one transaction.
    /// </summary>
    void AfterCommit((string PersistenceId, long SequenceNr)? firstRow, IReadOnlyList<Checkpoint> checkpoints);

    void MarkRunFinished(RunStatus status, string summaryJson);
}
