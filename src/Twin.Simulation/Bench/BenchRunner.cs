using System.Diagnostics;
using System.Globalization;
using Twin.Actors;
using Twin.Persistence;
using Twin.Persistence.Memory;
using Twin.Persistence.Sqlite;
using Twin.Simulation.Config;
using Twin.Simulation.Replay;
using Twin.Simulation.Running;
using Twin.Traces.Ftrace;

namespace Twin.Simulation.Bench;

/// <summary>One figure of <c>twin bench</c>: the median of its repetitions.</summary>
public sealed record BenchFigure(string Name, double Value, string Unit, double? RatioToBareLoop, long PeakWorkingSetBytes, string Note = "");

/// <summary>
/// End-to-end figures on a fixed workload and seed (issue 8): a bare seeded event loop as the
/// reference, simulation into memory and into SQLite with the online checkers, replay from SQLite
/// with state-hash verification, and import of a real trace. Each is the median of
/// <c>reps</c> repetitions in this process; peak working set is the process's peak after the phase.
/// </summary>
public static class BenchRunner
{
    /// <param name="postgres">An Npgsql connection string for the PostgreSQL figure (each repetition in a fresh schema, dropped after), or null to leave it out.</param>
    public static IReadOnlyList<BenchFigure> Run(long events, int reps, string? tracePath, string workDir, Action<string>? log = null, string? postgres = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1000);
        ArgumentOutOfRangeException.ThrowIfLessThan(reps, 1);
        TwinConfig config = ConfigLoader.Load(null, [("seed", "1", "bench"), ("run.events", events.ToString(CultureInfo.InvariantCulture), "bench")]);
        var figures = new List<BenchFigure>();

        double bare = Median(reps, () => BareLoop(events * 4));
        figures.Add(new BenchFigure("bare seeded event loop", bare, "events/s", 1.0, Peak()));
        log?.Invoke($"bare loop: {bare:N0} events/s");

        // A soak's run: events discarded, checkers on. Allocation is counted on the simulation
        // thread (the run loop runs on the caller's), boot and shutdown included.
        double allocatedPerEvent = 0;
        double soak = Median(reps, () =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            SimulationResult r = SimulationRunner.Run(config, journal: null, "bench");
            allocatedPerEvent = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)r.Events;
            return r.Events / r.WallSeconds;
        });
        figures.Add(new BenchFigure("soak run, events discarded, checkers on", soak, "events/s", soak / bare, Peak(), $"{allocatedPerEvent:F0} bytes/event allocated"));
        log?.Invoke($"soak run: {soak:N0} events/s, {allocatedPerEvent:F0} bytes/event allocated");

        double memory = Median(reps, () =>
        {
            SimulationResult r = SimulationRunner.Run(config, new MemoryJournal(), "bench");
            return r.Events / r.WallSeconds;
        });
        figures.Add(new BenchFigure("simulate, memory journal, checkers on", memory, "events/s", memory / bare, Peak()));
        log?.Invoke($"simulate (memory): {memory:N0} events/s");

        double bytesPerEvent = 0;
        string db = Path.Combine(workDir, "bench.db");
        double sqlite = Median(reps, () =>
        {
            DeleteDb(db);
            double rate;
            using (IJournal journal = JournalUri.Open($"sqlite:{db}", create: true))
            {
                SimulationResult r = SimulationRunner.Run(config, journal, "bench");
                rate = r.Events / r.WallSeconds;
                bytesPerEvent = (double)DbBytes(db) / r.Events;
            }
            return rate;
        });
        figures.Add(new BenchFigure("simulate into SQLite", sqlite, "events/s", sqlite / bare, Peak(), $"{bytesPerEvent:F1} bytes/event on disk"));
        log?.Invoke($"simulate (SQLite): {sqlite:N0} events/s, {bytesPerEvent:F1} bytes/event");

        double replay = Median(reps, () =>
        {
            using IJournal journal = JournalUri.Open($"sqlite:{db}", create: false);
            RunInfo run = RunSelection.Select(journal, "bench");
            var clock = Stopwatch.StartNew();
            SimulationResult r = RunReplay.Replay(journal, run);
            if (r.Violations.Count > 0) throw new InvalidOperationException($"bench replay found {r.Violations[0].Property}: {r.Violations[0].Message}");
            return r.Events / clock.Elapsed.TotalSeconds;
        });
        figures.Add(new BenchFigure("replay from SQLite, hashes verified", replay, "events/s", replay / bare, Peak()));
        log?.Invoke($"replay (SQLite): {replay:N0} events/s");

        // The read under the replay, alone: Twin's direct read of the plugin's table, every event decoded.
        double direct = Median(reps, () =>
        {
            using IJournal journal = JournalUri.Open($"sqlite:{db}", create: false);
            RunInfo run = RunSelection.Select(journal, "bench");
            var clock = Stopwatch.StartNew();
            long n = 0;
            using (IJournalCursor cursor = journal.ReadRun(run))
            {
                while (cursor.MoveNext())
                {
                    JournalEntry e = cursor.Current;
                    _ = Twin.Persistence.Codec.EventCodecs.Decode(e.Manifest, e.Payload);
                    n++;
                }
            }
            return n / clock.Elapsed.TotalSeconds;
        });
        figures.Add(new BenchFigure("read a run from SQLite directly, decoded", direct, "events/s", direct / bare, Peak(), "the read under replay"));
        log?.Invoke($"direct read (SQLite): {direct:N0} events/s");

        // What the direct read above is measured against: the plugin's own read journal.
        double query = Median(reps, () =>
        {
            int runNo;
            using (IJournal journal = JournalUri.Open($"sqlite:{db}", create: false)) runNo = RunSelection.Select(journal, "bench").RunNo;
            var clock = Stopwatch.StartNew();
            long n = Twin.Persistence.Sql.SqlPluginQuery.DecodeRun($"sqlite:{db}", runNo);
            return n / clock.Elapsed.TotalSeconds;
        });
        figures.Add(new BenchFigure("read a run from SQLite through Akka.Persistence.Query, decoded", query, "events/s", query / bare, Peak(), "CurrentEventsByTag"));
        log?.Invoke($"query (SQLite): {query:N0} events/s");
        DeleteDb(db);

        if (postgres is not null)
        {
            double pg = Median(reps, () =>
            {
                using var schema = PostgresBenchSchema.Create(postgres);
                using IJournal journal = JournalUri.Open("postgres:" + schema.ConnectionString, create: true);
                SimulationResult r = SimulationRunner.Run(config, journal, "bench");
                return r.Events / r.WallSeconds;
            });
            figures.Add(new BenchFigure("simulate into PostgreSQL", pg, "events/s", pg / bare, Peak()));
            log?.Invoke($"simulate (PostgreSQL): {pg:N0} events/s");
        }

        if (tracePath is not null && File.Exists(tracePath))
        {
            double lines = Median(reps, () =>
            {
                var clock = Stopwatch.StartNew();
                long n = 0;
                for (int i = 0; i < 10; i++) n += Twin.Traces.Replay.TraceCheck.Run(tracePath).Report.Lines;
                return n / clock.Elapsed.TotalSeconds;
            });
            figures.Add(new BenchFigure("import + check a real trace", lines, "lines/s", null, Peak(), Path.GetFileName(tracePath)));
            log?.Invoke($"import: {lines:N0} lines/s");
        }
        return figures;
    }

    /// <summary>
    /// The reference: what a minimal deterministic event loop does on this machine. A binary heap
    /// of (time, seq, target) timers, a seeded PRNG picking each next delay, no actors, no journal.
    /// </summary>
    public static double BareLoop(long events)
    {
        var random = new DeterministicRandom(1);
        var queue = new PriorityQueue<int, (long Time, long Seq)>(64);
        for (int i = 0; i < 64; i++) queue.Enqueue(i, (random.NextLong(0, 1000), i));
        long seq = 64, checksum = 0;
        var clock = Stopwatch.StartNew();
        for (long e = 0; e < events; e++)
        {
            queue.TryDequeue(out int target, out (long Time, long Seq) at);
            checksum += target;
            queue.Enqueue(target, (at.Time + random.NextLong(1, 1000), seq++));
        }
        double rate = events / clock.Elapsed.TotalSeconds;
        return checksum == long.MinValue ? 0 : rate; // keeps the loop's work observable
    }

    private static double Median(int reps, Func<double> measure)
    {
        var values = new double[reps];
        for (int i = 0; i < reps; i++) values[i] = measure();
        Array.Sort(values);
        return values[reps / 2];
    }

    private static long Peak()
    {
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    private static long DbBytes(string db) =>
        new[] { db, db + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length);

    private static void DeleteDb(string db)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (string f in new[] { db, db + "-wal", db + "-shm" })
        {
            if (File.Exists(f)) File.Delete(f);
        }
    }
}
