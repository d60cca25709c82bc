using Twin.Actors.Persistence;
using Twin.Persistence;
using Twin.Persistence.Memory;

namespace Twin.Simulation.Tests;

/// <summary>Every event of a run as it is persisted, with its index and virtual time.</summary>
public sealed class EventRecorder : EventTap
{
    public List<(long Index, long TimeNs, object Event)> Events { get; } = [];

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt) => Events.Add((meta.EventIndex, meta.TimestampNs, evt));

    public IEnumerable<T> Of<T>() => Events.Select(e => e.Event).OfType<T>();
}

/// <summary>Every stored row of a run, as comparable values: equal journals give equal lists.</summary>
public static class JournalRows
{
    public static List<(string Pid, long Seq, int Manifest, long Ts, string Payload)> Of(MemoryJournal journal, string runId)
    {
        var rows = new List<(string, long, int, long, string)>();
        using IJournalCursor c = journal.ReadRun(journal.FindRun(runId)!);
        while (c.MoveNext())
        {
            JournalEntry e = c.Current;
            rows.Add((e.PersistenceId, e.SequenceNr, e.Manifest, e.TimestampNs, Convert.ToHexString(e.Payload)));
        }
        return rows;
    }
}
