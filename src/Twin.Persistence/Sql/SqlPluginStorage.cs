using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Persistence;
using Akka.Persistence.Sql.Config;

namespace Twin.Persistence.Sql;

/// <summary>
/// Akka.Persistence.Sql, running in an ActorSystem of its own outside every run loop: its
/// journal stores a journal's events, its snapshot store the snapshots. The plugin's I/O
/// completes on the thread pool, so it never touches a simulation (which answers persistence
/// inside its loop and hands rows to a writer); only the writer's committing thread and
/// snapshot calls wait on it here. Started once per opened journal that writes.
/// </summary>
internal sealed class SqlPluginStorage : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly ActorSystem _system;

    private SqlPluginStorage(SqlBackend backend, ActorSystem system)
    {
        Backend = backend;
        _system = system;
        var persistence = Akka.Persistence.Persistence.Instance.Apply(system);
        Journal = persistence.JournalFor(SqlPluginHocon.JournalId);
        TableJournal = persistence.JournalFor(SqlPluginHocon.TableJournalId);
        Snapshots = persistence.SnapshotStoreFor(SqlPluginHocon.SnapshotId);
    }

    public SqlBackend Backend { get; }

    /// <summary>The plugin's write journal (SqlWriteJournal) that a run's writer sends WriteMessages to.</summary>
    public IActorRef Journal { get; }

    private IActorRef TableJournal { get; }

    private IActorRef Snapshots { get; }

    /// <summary>Starts the plugin; with <paramref name="createTables"/>, waits until it has created its tables (journal, snapshot) if they were missing.</summary>
    /// <param name="createTables">Only for a journal without them: the plugin's initialisation costs about a second of a short command.</param>
    /// <exception cref="JournalStorageException">the plugin cannot reach or create its tables.</exception>
    public static SqlPluginStorage Start(SqlBackend backend, bool createTables)
    {
        var setup = ActorSystemSetup.Create(
            BootstrapSetup.Create().WithConfig(SqlPluginHocon.For(backend)),
            new DataOptionsSetup(backend.Options));
        ActorSystem system = ActorSystem.Create("twin-storage", setup);
        var storage = new SqlPluginStorage(backend, system);
        try
        {
            if (createTables) storage.CreateTables();
        }
        catch
        {
            storage.Dispose();
            throw;
        }
        return storage;
    }

    /// <summary>Writes events through the plugin's journal; returns when all are committed.</summary>
    /// <exception cref="JournalException">the plugin failed or rejected the write; nothing of it is committed.</exception>
    public void Write(IReadOnlyList<AtomicWrite> writes, int events, IActorRef replies)
    {
        string doing() => $"writing {(events == 1 ? "1 event" : $"{events} events")} from {writes[0].PersistenceId} #{writes[0].LowestSequenceNr}";
        var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        replies.Tell(new WriteReplies.Expect(events, done));
        Journal.Tell(new WriteMessages(writes, replies, 1), ActorRefs.NoSender);
        if (!done.Task.Wait(s_timeout)) throw new JournalStorageException($"{Backend.Uri}: {doing()}: the SQL journal did not answer within {s_timeout.TotalSeconds:0} s");
        if (done.Task.Result is { } failure) throw SqlErrors.Translate(failure, Backend.Uri, doing());
    }

    public IActorRef NewReplies(string name) => _system.ActorOf(Props.Create(() => new WriteReplies()), name);

    public void Stop(IActorRef actor) => _system.Stop(actor);

    public void Dispose()
    {
        // Waits for the plugin's shutdown (its connections closed) so the file is released on return.
        _system.Terminate().Wait(s_timeout);
    }

    private void CreateTables()
    {
        // A replay of nothing goes through the plugin's initialisation, which creates the tables;
        // a load of nothing does the same for the snapshot store.
        object replay = Ask(TableJournal, "creating the journal table", replyTo => new ReplayMessages(1, 0, 0, "twin-tables", replyTo));
        if (replay is ReplayMessagesFailure rf) throw SqlErrors.Translate(rf.Cause, Backend.Uri, "creating the journal table");
        object load = Ask(Snapshots, "creating the snapshot table", _ => new LoadSnapshot("twin-tables", SnapshotSelectionCriteria.None, 0));
        if (load is LoadSnapshotFailed lf) throw SqlErrors.Translate(lf.Cause, Backend.Uri, "creating the snapshot table");
    }

    /// <summary>Asks and waits; <paramref name="message"/> gets the asking ref, for protocols that answer a named actor rather than the sender.</summary>
    private object Ask(IActorRef target, string doing, Func<IActorRef, object> message)
    {
        try
        {
            return target.Ask<object>(message, s_timeout, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (AskTimeoutException)
        {
            throw new JournalStorageException($"{Backend.Uri}: {doing}: the SQL plugin did not answer within {s_timeout.TotalSeconds:0} s (is the database reachable?)");
        }
    }
}
