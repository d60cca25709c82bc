using System.Text.Json;
using Twin.Persistence;
using Twin.Persistence.Codec;
using Twin.Traces.Ftrace;

namespace Twin.Traces.Journal;

/// <summary>
/// A real trace kept in a journal (<c>twin import FILE --journal URI</c>): a run whose config says
/// <c>{"trace": ...}</c> (the file, its CPU count, the tasks of its <c>.tasks</c> side file) and
/// whose rows are the parsed lines, one stream per CPU (<c>trace-cpu-N</c>), in file order, with the
/// event's time as the row's timestamp. <c>twin check</c> reads it back into the same checker.
/// </summary>
public static class TraceJournal
{
    /// <summary>Reads the trace and writes it into <paramref name="journal"/> as run <paramref name="runId"/>; returns the read report.</summary>
    public static ReadReport Import(string path, IJournal journal, string runId, string codeVersion, bool strict,
        IReadOnlyDictionary<int, int> tgids, IReadOnlySet<int> kthreads, ITraceSink? alsoTo = null)
    {
        FtraceReader.EnsureExists(path); // before the run is started: a missing file leaves no run behind
        journal.RegisterManifests([TraceLineCodec.Manifest]);
        IJournalWriter writer = journal.StartRun(new RunStart(runId, 0, ConfigJson(path, tgids, kthreads), codeVersion, Guid.NewGuid().ToString()));
        try
        {
            var sink = new RowSink(writer, alsoTo);
            ReadReport report = FtraceReader.Read(path, sink, strict);
            writer.Complete(RunStatus.Completed, SummaryJson(report));
            return report;
        }
        catch (Exception e) when (e is TraceFormatException or JournalException)
        {
            // What was committed stays, marked failed, so nobody mistakes it for the whole trace.
            try
            {
                writer.Complete(RunStatus.Failed, "{}");
            }
            catch (JournalException)
            {
                // The journal itself failed; the first error is the one to report.
            }
            throw;
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>True when the run holds an imported trace rather than a simulation.</summary>
    public static bool IsTrace(RunInfo run) => run.ConfigJson.StartsWith("{\"trace\":", StringComparison.Ordinal);

    /// <summary>The tasks the trace's side file named, as stored with the run.</summary>
    public static (Dictionary<int, int> Tgids, HashSet<int> Kthreads) Tasks(RunInfo run)
    {
        using JsonDocument doc = JsonDocument.Parse(run.ConfigJson);
        JsonElement trace = doc.RootElement.GetProperty("trace");
        var tgids = new Dictionary<int, int>();
        foreach (JsonProperty p in trace.GetProperty("tgids").EnumerateObject()) tgids[int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture)] = p.Value.GetInt32();
        var kthreads = new HashSet<int>(trace.GetProperty("kthreads").EnumerateArray().Select(e => e.GetInt32()));
        return (tgids, kthreads);
    }

    /// <summary>The read report stored when the import completed.</summary>
    public static ReadReport Report(RunInfo run)
    {
        using JsonDocument doc = JsonDocument.Parse(string.IsNullOrEmpty(run.SummaryJson) ? "{}" : run.SummaryJson);
        JsonElement s = doc.RootElement;
        long Get(string name) => s.TryGetProperty(name, out JsonElement v) ? v.GetInt64() : 0;
        using JsonDocument config = JsonDocument.Parse(run.ConfigJson);
        return new ReadReport
        {
            Path = config.RootElement.GetProperty("trace").GetProperty("file").GetString()!,
            Lines = Get("lines"), Events = Get("events"), Unparsed = Get("unparsed"), Cpus = (int)Get("cpus"),
            Overwritten = Get("overwritten"), Lost = Get("lost"), FirstNs = Get("firstNs"), LastNs = Get("lastNs"),
        };
    }

    /// <summary>Feeds every stored line, in file order, to <paramref name="sink"/>.</summary>
    /// <exception cref="JournalCorruptException">a row is not a trace line; names it.</exception>
    public static long Replay(IJournal journal, RunInfo run, ITraceSink sink)
    {
        var record = new TraceRecord();
        long n = 0;
        using IJournalCursor cursor = journal.ReadRun(run);
        while (cursor.MoveNext())
        {
            JournalEntry e = cursor.Current;
            if (e.Manifest != TraceLineCodec.Manifest.Column && e.Manifest != TraceLineCodec.ManifestV2.Column && e.Manifest != TraceLineCodec.ManifestV1.Column)
            {
                throw new JournalCorruptException($"{journal.Uri}: row {e.Ordering} of trace run '{run.RunId}' has manifest {e.Manifest}, not a trace line");
            }
            try
            {
                TraceLineCodec.Read(e.Payload, e.TimestampNs, EventManifest.VersionOf(e.Manifest), ref record);
            }
            catch (CorruptPayloadException x)
            {
                throw new JournalCorruptException($"{journal.Uri}: row {e.Ordering} ({e.PersistenceId} #{e.SequenceNr}) of trace run '{run.RunId}': {x.Message}", x);
            }
            sink.OnEvent(in record);
            n++;
        }
        return n;
    }

    private static string ConfigJson(string path, IReadOnlyDictionary<int, int> tgids, IReadOnlySet<int> kthreads)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("trace");
            w.WriteString("file", Path.GetFileName(path));
            w.WriteStartObject("tgids");
            foreach ((int pid, int tgid) in tgids.OrderBy(p => p.Key)) w.WriteNumber(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), tgid);
            w.WriteEndObject();
            w.WriteStartArray("kthreads");
            foreach (int k in kthreads.Order()) w.WriteNumberValue(k);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string SummaryJson(ReadReport r) =>
        $$"""{"lines":{{r.Lines}},"events":{{r.Events}},"unparsed":{{r.Unparsed}},"cpus":{{r.Cpus}},"overwritten":{{r.Overwritten}},"lost":{{r.Lost}},"firstNs":{{r.FirstNs}},"lastNs":{{r.LastNs}}}""";

    /// <summary>Appends each parsed line to its CPU's stream.</summary>
    private sealed class RowSink(IJournalWriter writer, ITraceSink? alsoTo) : ITraceSink
    {
        private readonly byte[] _buffer = new byte[PayloadLimits.MaxPayloadBytes];
        private int[] _streams = [];
        private long[] _seqs = [];

        public void OnEvent(in TraceRecord record)
        {
            int cpu = Math.Max(0, record.Cpu);
            if (cpu >= _streams.Length)
            {
                int old = _streams.Length;
                Array.Resize(ref _streams, cpu + 1);
                Array.Resize(ref _seqs, cpu + 1);
                for (int c = old; c <= cpu; c++) _streams[c] = -1;
            }
            if (_streams[cpu] < 0) _streams[cpu] = writer.RegisterStream($"trace-cpu-{cpu}");
            var w = new PayloadWriter(_buffer);
            TraceLineCodec.Write(ref w, in record);
            writer.Append(_streams[cpu], ++_seqs[cpu], TraceLineCodec.Manifest.Column, record.TimeNs, w.Written);
            alsoTo?.OnEvent(in record);
        }
    }
}
