using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;

namespace Twin.Persistence.Sql;

/// <summary>
/// Reads a run through Akka.Persistence.Query (the plugin's read journal, CurrentEventsByTag),
/// decoding every event: what <c>twin bench</c> sets against Twin's direct read of the table.
/// </summary>
public static class SqlPluginQuery
{
    /// <summary>Decodes every event of run <paramref name="runNo"/>; returns how many there were.</summary>
    public static long DecodeRun(string journalUri, int runNo)
    {
        using ActorSystem system = ActorSystem.Create("twin-query", SqlPluginHocon.ForUri(journalUri));
        var query = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlPluginHocon.QueryId);
        long events = 0;
        query.CurrentEventsByTag(RunInfo.TagOf(runNo), Offset.NoOffset())
            .RunForeach(e =>
            {
                _ = ((StoredEvent)e.Event).Decode(e.SequenceNr);
                events++;
            }, system.Materializer())
            .GetAwaiter().GetResult();
        system.Terminate().Wait(TimeSpan.FromSeconds(30));
        return events;
    }
}
