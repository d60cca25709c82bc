using System.Globalization;
using System.Text;
using System.Text.Json;
using Twin.Checking;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Traces.Export;

/// <summary>
/// Chrome / Perfetto trace JSON (trace-formats.md §5): the scheduler as <c>systemTraceEvents</c>
/// ftrace text, so Perfetto builds its own per-CPU scheduling tracks; the rest in
/// <c>traceEvents</c> on a pseudo-process "Twin CPUs" (one thread per CPU): membarrier calls and
/// shootdowns as slices, IPIs as flow arrows from sender to handler, barriers and core-serializing
/// events as instants, tlb_gen as counters, violations as global instants.
/// </summary>
public static class PerfettoExporter
{
    private const int CpusPid = 100000;

    private static int Tid(int cpu) => 1000 + cpu;

    public static void Write(Timeline t, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        w.WriteStartObject();
        w.WriteString("displayTimeUnit", "ns");
        w.WriteString("systemTraceEvents", FtraceText(t));
        w.WriteStartArray("traceEvents");
        Metadata(w, t);
        var ipiSent = new Dictionary<long, IpiSent>();
        var calls = new Dictionary<int, (MembarrierEntered Call, long TimeNs)>();
        var shootdowns = new Dictionary<int, (TlbShootdownStarted Start, long TimeNs)>();
        foreach (TimelineEvent e in t.Events)
        {
            double ts = e.TimeNs / 1000.0;
            switch (e.Event)
            {
                case FullBarrier b:
                    Instant(w, Tid(b.Cpu), ts, $"mb {b.Reason}", "barrier");
                    break;
                case CoreSerialized c:
                    Instant(w, Tid(c.Cpu), ts, $"core sync {c.Reason}", "serialize");
                    break;
                case FaultInjected f:
                    Instant(w, Tid(f.Cpu), ts, $"fault: {Timeline.Describe(f)}", "fault");
                    break;
                case CpuLamLoaded l:
                    Instant(w, Tid(l.Cpu), ts, $"LAM cr3={l.Cr3Bits} untag={l.UntagBits} ({l.Reason}, mm {l.Mm})", "lam");
                    break;
                case ArchPrctlReturned a:
                    Instant(w, Tid(a.Cpu), ts, Timeline.Describe(a), "syscall");
                    break;
                case TextPokeStepped p:
                    Instant(w, Tid(p.Cpu), ts, Timeline.Describe(p), "text_poke");
                    break;
                case TextFetched f:
                    Instant(w, Tid(f.Cpu), ts, Timeline.Describe(f), "text");
                    break;
                case Int3Handled h:
                    Instant(w, Tid(h.Cpu), ts, Timeline.Describe(h), "int3");
                    break;
                case CpuHotplugged h:
                    Instant(w, Tid(h.Cpu), ts, h.Online ? "CPU online (booted again)" : "CPU offline", "hotplug");
                    break;
                case CtWork c:
                    Instant(w, Tid(c.Cpu), ts, Timeline.Describe(c), "context_tracking");
                    break;
                case IpiSent s:
                    ipiSent[s.Ipi] = s;
                    Flow(w, 's', Tid(s.From), ts, s.Ipi, s.Kind);
                    break;
                case IpiHandled h:
                    Complete(w, Tid(h.Cpu), ts, 0.05, Handler(h.Kind), "ipi", ("from", h.From.ToString(CultureInfo.InvariantCulture)));
                    if (h.Ipi != 0 && ipiSent.ContainsKey(h.Ipi)) Flow(w, 'f', Tid(h.Cpu), ts, h.Ipi, h.Kind);
                    break;
                case MembarrierEntered m:
                    calls[m.Cpu] = (m, e.TimeNs);
                    break;
                case MembarrierExited x when calls.Remove(x.Cpu, out var call):
                    Complete(w, Tid(x.Cpu), call.TimeNs / 1000.0, (e.TimeNs - call.TimeNs) / 1000.0,
                        $"membarrier({MembarrierCmd.Name(call.Call.Cmd)})", "membarrier",
                        ("task", Timeline.TaskName(x.Task)), ("ret", x.Ret.ToString(CultureInfo.InvariantCulture)));
                    break;
                case TlbShootdownStarted ss:
                    shootdowns[ss.Cpu] = (ss, e.TimeNs);
                    break;
                case TlbShootdownFinished sf when shootdowns.Remove(sf.Cpu, out var sd):
                    Complete(w, Tid(sf.Cpu), sd.TimeNs / 1000.0, (e.TimeNs - sd.TimeNs) / 1000.0, $"flush_tlb_mm_range(mm {sf.Mm})", "tlb",
                        ("tlb_gen", sf.TlbGen.ToString(CultureInfo.InvariantCulture)));
                    break;
                case TlbGenIncremented g:
                    w.WriteStartObject();
                    w.WriteString("ph", "C");
                    w.WriteString("name", $"tlb_gen mm {g.Mm}");
                    w.WriteNumber("pid", CpusPid);
                    w.WriteNumber("ts", ts);
                    w.WriteStartObject("args");
                    w.WriteNumber("gen", g.TlbGen);
                    w.WriteEndObject();
                    w.WriteEndObject();
                    break;
            }
        }
        foreach (Violation v in t.Violations)
        {
            w.WriteStartObject();
            w.WriteString("ph", "i");
            w.WriteString("s", "g");
            w.WriteString("name", $"VIOLATION {v.Property}");
            w.WriteString("cat", "violation");
            w.WriteNumber("pid", CpusPid);
            w.WriteNumber("tid", Tid(Math.Max(0, v.Cpu)));
            w.WriteNumber("ts", v.TimeNs / 1000.0);
            w.WriteStartObject("args");
            w.WriteString("message", v.Message);
            w.WriteString("guarantee", v.Guarantee);
            w.WriteNumber("event", v.EventIndex);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("metadata");
        w.WriteString("title", t.Title);
        w.WriteString("generator", "twin export --perfetto");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>sched_switch lines in the kernel's text format; comms have no spaces (Perfetto splits on them).</summary>
    internal static string FtraceText(Timeline t)
    {
        var sb = new StringBuilder();
        sb.Append("# tracer: nop\n");
        sb.Append(CultureInfo.InvariantCulture, $"# entries-in-buffer/entries-written: {t.Events.Count}/{t.Events.Count}   #P:{t.Cpus}\n");
        foreach (TimelineEvent e in t.Events)
        {
            if (e.Event is not SchedSwitched s) continue;
            string prev = Timeline.TaskName(s.Prev), next = Timeline.TaskName(s.Next);
            int prevPid = Math.Max(0, s.Prev), nextPid = Math.Max(0, s.Next);
            string state = s.PrevState == PrevState.Runnable && !KernelIds.IsIdle(s.Prev) ? "R+" : KernelIds.IsIdle(s.Prev) ? "R" : "S";
            long sec = e.TimeNs / 1_000_000_000, usec = e.TimeNs % 1_000_000_000 / 1000;
            sb.Append(CultureInfo.InvariantCulture,
                $"{prev,16}-{prevPid,-7} [{s.Cpu:D3}] d..2. {sec,5}.{usec:D6}: sched_switch: prev_comm={prev} prev_pid={prevPid} prev_prio=120 prev_state={state} ==> next_comm={next} next_pid={nextPid} next_prio=120\n");
        }
        return sb.ToString();
    }

    private static string Handler(IpiKind kind) => kind switch
    {
        IpiKind.Mb => "ipi_mb",
        IpiKind.SyncCore => "ipi_sync_core",
        IpiKind.Rseq => "ipi_rseq",
        IpiKind.SyncRqState => "ipi_sync_rq_state",
        IpiKind.EnableLam => "enable_lam_func",
        IpiKind.TextPokeSync => "do_sync_core",
        _ => "flush_tlb_func",
    };

    private static void Metadata(Utf8JsonWriter w, Timeline t)
    {
        w.WriteStartObject();
        w.WriteString("ph", "M");
        w.WriteString("name", "process_name");
        w.WriteNumber("pid", CpusPid);
        w.WriteStartObject("args");
        w.WriteString("name", "Twin CPUs");
        w.WriteEndObject();
        w.WriteEndObject();
        for (int c = 0; c < t.Cpus; c++)
        {
            w.WriteStartObject();
            w.WriteString("ph", "M");
            w.WriteString("name", "thread_name");
            w.WriteNumber("pid", CpusPid);
            w.WriteNumber("tid", Tid(c));
            w.WriteStartObject("args");
            w.WriteString("name", $"CPU {c}");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("ph", "M");
            w.WriteString("name", "thread_sort_index");
            w.WriteNumber("pid", CpusPid);
            w.WriteNumber("tid", Tid(c));
            w.WriteStartObject("args");
            w.WriteNumber("sort_index", c);
            w.WriteEndObject();
            w.WriteEndObject();
        }
    }

    private static void Instant(Utf8JsonWriter w, int tid, double ts, string name, string cat)
    {
        w.WriteStartObject();
        w.WriteString("ph", "i");
        w.WriteString("s", "t");
        w.WriteString("name", name);
        w.WriteString("cat", cat);
        w.WriteNumber("pid", CpusPid);
        w.WriteNumber("tid", tid);
        w.WriteNumber("ts", ts);
        w.WriteEndObject();
    }

    private static void Complete(Utf8JsonWriter w, int tid, double ts, double dur, string name, string cat, params (string Key, string Value)[] args)
    {
        w.WriteStartObject();
        w.WriteString("ph", "X");
        w.WriteString("name", name);
        w.WriteString("cat", cat);
        w.WriteNumber("pid", CpusPid);
        w.WriteNumber("tid", tid);
        w.WriteNumber("ts", ts);
        w.WriteNumber("dur", Math.Max(0, dur));
        w.WriteStartObject("args");
        foreach ((string k, string v) in args) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Flow(Utf8JsonWriter w, char phase, int tid, double ts, long id, IpiKind kind)
    {
        w.WriteStartObject();
        w.WriteString("ph", phase.ToString());
        w.WriteString("name", $"IPI {Handler(kind)}");
        w.WriteString("cat", "ipi");
        w.WriteNumber("id", id);
        w.WriteNumber("pid", CpusPid);
        w.WriteNumber("tid", tid);
        w.WriteNumber("ts", ts);
        if (phase == 'f') w.WriteString("bp", "e");
        w.WriteEndObject();
    }
}
