// The example of docs/journal.md: reading a run of a Twin journal with Akka.Persistence.Query.
// It is compiled into Twin.Simulation.Tests and run there against a real journal file.
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Twin.Persistence.Sql;

namespace Twin.Docs.Examples;

public static class ReadRunWithQuery
{
    /// <summary>Every event of run <paramref name="runNo"/>, in write order, as (persistence id, sequence number, event record).</summary>
    public static async Task<List<(string PersistenceId, long SequenceNr, object Event)>> Events(string journalUri, int runNo)
    {
        // The HOCON Twin itself uses: Akka.Persistence.Sql on the journal, Twin's serializer for its rows.
        using ActorSystem system = ActorSystem.Create("reader", SqlPluginHocon.ForUri(journalUri));
        // Akka.Persistence.Sql's read journal, through Akka.Persistence.Query's own interface.
        var query = PersistenceQuery.Get(system).ReadJournalFor<ICurrentEventsByTagQuery>(SqlPluginHocon.QueryId);
        var events = new List<(string, long, object)>();
        // Every event of a run carries the tag run-N (N is runs.run_no).
        await query.CurrentEventsByTag($"run-{runNo}", Offset.NoOffset())
            .RunForeach(e => events.Add((e.PersistenceId, e.SequenceNr, ((StoredEvent)e.Event).Decode(e.SequenceNr))), system.Materializer());
        await system.Terminate();
        return events;
    }
}
