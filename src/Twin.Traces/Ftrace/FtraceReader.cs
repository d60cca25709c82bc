using System.Runtime.CompilerServices;
using System.Text;

namespace Twin.Traces.Ftrace;

/// <summary>Receives each event of a trace, in file order.</summary>
public interface ITraceSink
{
    void OnEvent(in TraceRecord record);
}

/// <summary>Feeds each event to two sinks, e.g. the summary and the checker.</summary>
public sealed class BothSinks(ITraceSink first, ITraceSink second) : ITraceSink
{
    public void OnEvent(in TraceRecord record)
    {
        first.OnEvent(in record);
        second.OnEvent(in record);
    }
}

/// <summary>A trace file the importer cannot read at all (empty, binary, not ftrace text); the message names it.</summary>
public sealed class TraceFormatException(string message) : Exception(message);

/// <summary>A line the importer could not parse.</summary>
public sealed record UnparsedLine(long Line, string Reason, string Text);

/// <summary>What reading a trace found besides its events.</summary>
public sealed record ReadReport
{
    public required string Path { get; init; }
    public long Lines { get; init; }
    public long Events { get; init; }
    public long Unparsed { get; init; }
    /// <summary>The first few unparsed lines, with why.</summary>
    public IReadOnlyList<UnparsedLine> FirstUnparsed { get; init; } = [];
    /// <summary>CPU count from <c>#P:N</c> or <c>cpus=N</c>; 0 if the trace does not say.</summary>
    public int Cpus { get; init; }
    /// <summary>entries-written minus entries-in-buffer: events the ring buffer overwrote before the dump.</summary>
    public long Overwritten { get; init; }
    /// <summary>Sum of <c>CPU:n [LOST m EVENTS]</c>.</summary>
    public long Lost { get; init; }
    public long FirstNs { get; init; }
    public long LastNs { get; init; }
}

/// <summary>
/// Streams an ftrace text file line by line into a sink: memory does not grow with the file.
/// Lines it cannot parse are counted (the first few kept with their line numbers) and reading goes
/// on, unless <c>strict</c>.
/// </summary>
public static class FtraceReader
{
    private const int KeepUnparsed = 5;

    /// <summary>Characters no trace line holds: NUL and the other controls but tab, DEL, U+FFFD (bytes that were not UTF-8).</summary>
    private static readonly System.Buffers.SearchValues<char> s_damaged = System.Buffers.SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000b\u000c\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f\ufffd");

    /// <exception cref="TraceFormatException">there is no such file.</exception>
    public static void EnsureExists(string path)
    {
        if (!File.Exists(path)) throw new TraceFormatException($"trace file '{path}' does not exist");
    }

    /// <exception cref="TraceFormatException">the file is missing, empty, binary, or has no event line at all; or, strict, a line does not parse.</exception>
    public static ReadReport Read(string path, ITraceSink sink, bool strict = false)
    {
        EnsureExists(path);
        try
        {
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
            return Read(reader, path, sink, strict);
        }
        catch (IOException e)
        {
            throw new TraceFormatException($"trace file '{path}' cannot be read: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TraceFormatException($"trace file '{path}' cannot be read: {e.Message}");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReadReport Read(TextReader reader, string path, ITraceSink sink, bool strict = false)
    {
        var record = default(TraceRecord);
        var facts = default(LineFacts);
        var unparsed = new List<UnparsedLine>();
        long lines = 0, events = 0, bad = 0, lost = 0, overwritten = 0, firstNs = -1, lastNs = 0;
        int cpus = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lines++;
            record = default;
            LineKind kind;
            if (line.AsSpan().ContainsAny(s_damaged))
            {
                // A file binary from its start is not a trace; a stray binary line inside one is just a line it cannot parse.
                if (lines == 1 && line.Contains('\0')) throw new TraceFormatException($"{path}: {BinaryKind(line)}");
                facts.Error = line.Contains('\0') ? "binary data (a NUL byte)" : "control characters (a damaged line)";
                kind = LineKind.Unparsed;
            }
            else
            {
                kind = FtraceLineParser.Parse(line, ref record, ref facts);
            }
            switch (kind)
            {
                case LineKind.Event:
                    record.Line = lines;
                    events++;
                    if (firstNs < 0) firstNs = record.TimeNs;
                    lastNs = record.TimeNs;
                    sink.OnEvent(in record);
                    break;
                case LineKind.Header:
                    if (facts.Cpus > 0) cpus = facts.Cpus;
                    if (facts.Written > facts.Count) overwritten = facts.Written - facts.Count;
                    facts = default;
                    break;
                case LineKind.Lost:
                    // Passed on (not counted as an event) so what follows knows where the trace is blind.
                    lost += facts.Count;
                    record.Kind = TraceEventKind.Lost;
                    record.Cpu = facts.Cpu;
                    record.Ret = facts.Count;
                    record.Line = lines;
                    record.TimeNs = lastNs;
                    sink.OnEvent(in record);
                    break;
                case LineKind.Unparsed:
                    if (strict) throw new TraceFormatException($"{path}:{lines}: {facts.Error}: {Excerpt(line)}");
                    bad++;
                    if (unparsed.Count < KeepUnparsed) unparsed.Add(new UnparsedLine(lines, facts.Error!, Excerpt(line)));
                    // A line that does not parse is an event lost: of its CPU when the line still names one, else of any CPU.
                    record = default;
                    record.Kind = TraceEventKind.Lost;
                    record.Cpu = FtraceLineParser.CpuOf(line);
                    record.Line = lines;
                    record.TimeNs = lastNs;
                    sink.OnEvent(in record);
                    break;
            }
        }
        if (lines == 0) throw new TraceFormatException($"{path}: empty file; expected ftrace text");
        if (events == 0)
        {
            string first = unparsed.Count > 0 ? $" (line {unparsed[0].Line}: {unparsed[0].Reason})" : "";
            throw new TraceFormatException($"{path}: no trace event in {lines} lines{first}; expected ftrace text (/sys/kernel/tracing/trace or trace-cmd report)");
        }
        return new ReadReport
        {
            Path = path,
            Lines = lines,
            Events = events,
            Unparsed = bad,
            FirstUnparsed = unparsed,
            Cpus = cpus,
            Overwritten = overwritten,
            Lost = lost,
            FirstNs = firstNs,
            LastNs = lastNs,
        };
    }

    private static string Excerpt(string line)
    {
        string text = line.Replace('\0', '\u2400');
        return text.Length <= 120 ? text.Trim() : text[..117].Trim() + "...";
    }

    /// <summary>What a binary file is, by its magic, and what to run on it.</summary>
    private static string BinaryKind(string firstLine)
    {
        if (firstLine.StartsWith("\u0017\u0008Dtracing", StringComparison.Ordinal)) return "a trace-cmd binary trace.dat; give the text of 'trace-cmd report' on it";
        if (firstLine.StartsWith("PERFILE2", StringComparison.Ordinal)) return "a perf.data file; give the text of 'perf script' on it";
        return "binary data (a NUL byte on line 1); expected ftrace text (/sys/kernel/tracing/trace, trace-cmd report or perf script)";
    }
}
