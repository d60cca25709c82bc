using Akka.Actor;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using Twin.Docs.Examples;
using Twin.Persistence;
using Twin.Persistence.Sql;
using Twin.Persistence.Sqlite;
using Twin.Persistence.Tests;
using Twin.Simulation.Config;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>
/// A run's journal is an ordinary Akka.Persistence.Sql database: Akka.Persistence.Query, Akka's
/// own recovery and plain SQL (the examples of docs/journal.md) read back what Twin wrote.
/// </summary>
public sealed class AkkaReadTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TwinConfig Config(long events) =>
        ConfigLoader.Load(null, [("seed", "7", "t"), ("run.events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "t")]);

    [Fact]
    public async Task akka_persistence_query_reads_a_sqlite_run_as_twin_reads_it()
    {
        string uri = "sqlite:" + _dir.File("q.db");
        await QueryReadsWhatTwinReads(uri);
    }

    [Fact]
    public async Task akka_persistence_query_reads_a_postgres_run_as_twin_reads_it()
    {
        await QueryReadsWhatTwinReads("postgres:" + PostgresServer.FreshSchema("q"));
    }

    private static async Task QueryReadsWhatTwinReads(string uri)
    {
        List<(string, long, object)> twin;
        SimulationResult result;
        int runNo;
        using (IJournal journal = JournalUri.Open(uri, create: true))
        {
            result = SimulationRunner.Run(Config(20_000), journal, "q");
            RunInfo run = journal.FindRun("q")!;
            runNo = run.RunNo;
            twin = ReadWithTwin(journal, run);
        }
        List<(string PersistenceId, long SequenceNr, object Event)> akka = await ReadRunWithQuery.Events(uri, runNo);
        Assert.Equal(result.Events, akka.Count);
        Assert.Equal(twin, akka);
        Assert.All(akka, e => Assert.StartsWith($"{runNo}:", e.PersistenceId));
    }

    [Fact]
    public async Task an_akka_persistent_actor_recovers_a_stream_of_the_run_from_the_sql_journal()
    {
        string uri = "sqlite:" + _dir.File("r.db");
        string pid;
        List<(long, object)> expected;
        using (IJournal journal = JournalUri.Open(uri, create: true))
        {
            SimulationRunner.Run(Config(5_000), journal, "r");
            RunInfo run = journal.FindRun("r")!;
            pid = run.PersistenceIdOf("cpu-0");
            expected = ReadWithTwin(journal, run).Where(e => e.Item1 == pid).Select(e => (e.Item2, e.Item3)).ToList();
        }
        Assert.True(expected.Count > 10);
        using ActorSystem system = ActorSystem.Create("recover", SqlPluginHocon.ForUri(uri));
        IActorRef actor = system.ActorOf(Props.Create(() => new StreamReader(pid)));
        var recovered = await actor.Ask<List<(long, object)>>("events", TimeSpan.FromSeconds(30));
        Assert.Equal(expected, recovered);
        await system.Terminate();
    }

    [Fact]
    public void the_sql_example_of_the_docs_counts_the_events_of_a_run()
    {
        string path = _dir.File("s.db");
        long events;
        using (IJournal journal = JournalUri.Open("sqlite:" + path, create: true)) events = SimulationRunner.Run(Config(5_000), journal, "s").Events;
        string doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "journal.md"));
        int start = doc.IndexOf("```sql\n", StringComparison.Ordinal) + "```sql\n".Length;
        string sql = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql.Replace(":run_id", "'s'");
        using SqliteDataReader r = cmd.ExecuteReader();
        var byStream = new Dictionary<string, long>();
        while (r.Read()) byStream[r.GetString(0)] = r.GetInt64(1);
        Assert.Equal(events, byStream.Values.Sum());
        Assert.Contains("cpu-0", byStream.Keys);
    }

    private static List<(string, long, object)> ReadWithTwin(IJournal journal, RunInfo run)
    {
        var rows = new List<(string, long, object)>();
        using IJournalCursor cursor = journal.ReadRun(run);
        while (cursor.MoveNext())
        {
            JournalEntry e = cursor.Current;
            rows.Add((e.PersistenceId, e.SequenceNr, Twin.Persistence.Codec.EventCodecs.Decode(e.Manifest, e.Payload)));
        }
        return rows;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Twin.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("no Twin.sln above the test binaries");
    }

    /// <summary>A plain Akka persistent actor on one of the run's streams: Akka's recovery, through the plugin.</summary>
    private sealed class StreamReader : UntypedPersistentActor
    {
        private readonly List<(long, object)> _events = [];

        public StreamReader(string persistenceId) => PersistenceId = persistenceId;

        public override string PersistenceId { get; }

        protected override void OnRecover(object message)
        {
            if (message is StoredEvent e) _events.Add((LastSequenceNr, e.Decode(LastSequenceNr)));
        }

        protected override void OnCommand(object message)
        {
            if (message is "events") Sender.Tell(_events);
        }
    }
}
