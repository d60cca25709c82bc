using System.Globalization;
using System.Runtime.CompilerServices;

namespace Twin.Traces.Ftrace;

/// <summary>What a line of ftrace text is.</summary>
public enum LineKind : byte
{
    /// <summary>An event, in the record.</summary>
    Event,
    /// <summary>Blank, a comment, a trace-cmd preamble, a stack-trace continuation: nothing to do.</summary>
    Skip,
    /// <summary><c>CPU:n [LOST m EVENTS]</c>: <see cref="LineFacts.Cpu"/> lost <see cref="LineFacts.Count"/>.</summary>
    Lost,
    /// <summary><c>##### CPU n buffer started ####</c>: that CPU's events start here.</summary>
    BufferStarted,
    /// <summary><c># entries-in-buffer/entries-written: A/B #P:N</c> or <c>cpus=N</c>.</summary>
    Header,
    /// <summary>Not a form the importer knows; <see cref="LineFacts.Error"/> says why.</summary>
    Unparsed,
}

/// <summary>What a non-event line says.</summary>
public struct LineFacts
{
    public int Cpu;
    public long Count;
    public int Cpus;
    public long Written;
    public string? Error;
}

/// <summary>
/// Parses one line of <c>/sys/kernel/tracing/trace</c> or <c>trace-cmd report</c> text, in every
/// layout of docs/trace-import.md: TGID column or not, 4–5 (up to 8) flag characters or none,
/// comms with spaces and dashes, syscall events without an event name, masks as hex words or lists.
/// Works on spans and allocates nothing.
/// </summary>
public static class FtraceLineParser
{
    /// <summary>The characters of C identifiers (event names, kernel symbols; '.' for compiler-made ones such as membarrier_global_expedited.isra.0).</summary>
    private static readonly System.Buffers.SearchValues<char> s_identifier =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static LineKind Parse(ReadOnlySpan<char> line, ref TraceRecord r, ref LineFacts facts)
    {
        facts.Error = null;
        ReadOnlySpan<char> t = line.TrimEnd();
        // An empty line separates perf script's callchains; one of blanks only is an event line cut short.
        if (t.IsEmpty) return line.IsEmpty ? LineKind.Skip : Fail(ref facts, "a line of blanks (cut short?)");
        ReadOnlySpan<char> s = t.TrimStart();
        if (s[0] == '#') return s.StartsWith("#####") ? BufferStarted(s, ref facts) : Header(s, ref facts);
        if (s.StartsWith("cpus=")) return Int(s[5..], out facts.Cpus) ? LineKind.Header : Fail(ref facts, "cpus= without a number");
        if (s.StartsWith("version =") || (s.StartsWith("CPU ") && s.EndsWith("is empty")) || s.StartsWith("=>") || s.StartsWith("<stack trace>"))
        {
            return LineKind.Skip;
        }
        if (s.StartsWith("CPU:")) return Lost(s, ref facts);
        return Event(t, ref r, ref facts);
    }

    /// <summary>The CPU a line names in its "[NNN]" column before the timestamp, or -1 (none, or not readable).</summary>
    public static int CpuOf(ReadOnlySpan<char> line)
    {
        int open = CpuBracket(line);
        if (open < 0) return -1;
        int close = line[open..].IndexOf(']') + open;
        (int ts, _) = TimeToken(line);
        return (ts < 0 || open < ts) && Int(line[(open + 1)..close], out int cpu) && cpu is >= 0 and < 4096 ? cpu : -1;
    }

    private static LineKind Fail(ref LineFacts facts, string why)
    {
        facts.Error = why;
        return LineKind.Unparsed;
    }

    private static LineKind Header(ReadOnlySpan<char> s, ref LineFacts facts)
    {
        int e = s.IndexOf("entries-written:");
        if (e >= 0)
        {
            ReadOnlySpan<char> rest = s[(e + "entries-written:".Length)..].TrimStart();
            int slash = rest.IndexOf('/');
            int end = rest.IndexOf(' ');
            if (slash > 0 && long.TryParse(rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out long inBuffer)
                && long.TryParse(end > slash ? rest[(slash + 1)..end] : rest[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out long written))
            {
                facts.Count = inBuffer;
                facts.Written = written;
            }
            int p = s.IndexOf("#P:");
            if (p >= 0 && Int(s[(p + 3)..], out int cpus)) facts.Cpus = cpus;
            return LineKind.Header;
        }
        return LineKind.Skip;
    }

    private static LineKind BufferStarted(ReadOnlySpan<char> s, ref LineFacts facts)
    {
        int c = s.IndexOf("CPU ");
        if (c < 0) return LineKind.Skip;
        ReadOnlySpan<char> rest = s[(c + 4)..];
        int sp = rest.IndexOf(' ');
        return sp > 0 && Int(rest[..sp], out facts.Cpu) ? LineKind.BufferStarted : Fail(ref facts, "CPU buffer marker without a CPU number");
    }

    private static LineKind Lost(ReadOnlySpan<char> s, ref LineFacts facts)
    {
        // CPU:3 [LOST 42 EVENTS]
        int sp = s.IndexOf(' ');
        int lost = s.IndexOf("[LOST ");
        if (sp < 5 || lost < 0 || !Int(s[4..sp], out facts.Cpu)) return Fail(ref facts, "CPU:n [LOST m EVENTS] marker malformed");
        ReadOnlySpan<char> n = s[(lost + 6)..];
        int end = n.IndexOf(' ');
        return end > 0 && long.TryParse(n[..end], NumberStyles.None, CultureInfo.InvariantCulture, out facts.Count)
            ? LineKind.Lost : Fail(ref facts, "CPU:n [LOST m EVENTS] marker malformed");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static LineKind Event(ReadOnlySpan<char> t, ref TraceRecord r, ref LineFacts facts)
    {
        // The timestamp ("6799.260564:") ends the prefix. Before it: "[CPU]" and maybe flags
        // (ftrace, trace-cmd report, perf script), or, in the latency layout (trace-cmd report -l),
        // one token of the CPU number glued to the flags ("2d..1."). A "[120]" after it is the body's.
        (int ts, int tsLength) = TimeToken(t);
        if (ts < 0) return Fail(ref facts, CpuBracket(t) < 0 ? "no [CPU] column" : "no timestamp");
        if (!Timestamp(t.Slice(ts, tsLength - 1), out r.TimeNs)) return Fail(ref facts, "no timestamp");
        ReadOnlySpan<char> who;
        int open = CpuBracket(t);
        if (open >= 0 && open < ts)
        {
            int close = t[open..].IndexOf(']') + open;
            if (!Int(t[(open + 1)..close], out r.Cpu)) return Fail(ref facts, "bad CPU number");
            ReadOnlySpan<char> flags = t[(close + 1)..ts].Trim();
            if (!flags.IsEmpty && !Flags(flags, ref r)) return Fail(ref facts, "neither irq flags nor a timestamp after the CPU column");
            who = t[..open].TrimEnd();
        }
        else
        {
            ReadOnlySpan<char> before = t[..ts].TrimEnd();
            int sp = before.LastIndexOfAny(' ', '\t');
            ReadOnlySpan<char> cpuFlags = before[(sp + 1)..];
            int digits = 0;
            while (digits < cpuFlags.Length && char.IsAsciiDigit(cpuFlags[digits])) digits++;
            if (sp < 0 || digits == 0 || !Int(cpuFlags[..digits], out r.Cpu) || !Flags(cpuFlags[digits..], ref r)) return Fail(ref facts, "no [CPU] column");
            who = before[..sp].TrimEnd();
        }
        r.Tgid = -1;
        if (who.EndsWith(")"))
        {
            int lp = who.LastIndexOf('(');
            if (lp < 0) return Fail(ref facts, "unbalanced TGID column");
            ReadOnlySpan<char> tg = who[(lp + 1)..^1].Trim();
            if (!tg.IsEmpty && tg[0] != '-' && !Int(tg, out r.Tgid)) return Fail(ref facts, "bad TGID");
            who = who[..lp].TrimEnd();
        }
        if (!TaskPid(who, ref r)) return Fail(ref facts, "no TASK-PID before the CPU column");
        // cpu_stopper_thread's comm; trace-cmd report -l cuts comms to 8 characters ("migratio").
        ReadOnlySpan<char> comm = who.TrimStart();
        r.Stopper = comm.StartsWith("migration/") || comm.StartsWith("migratio-");
        return Body(t[(ts + tsLength)..].TrimStart(), ref r, ref facts);
    }

    /// <summary>
    /// The pid at the end of the task column: "comm-PID" (ftrace, trace-cmd; comm may hold dashes and
    /// spaces, so the last dash), or perf script's "comm TID" and "comm PID/TID" (no dash).
    /// </summary>
    private static bool TaskPid(ReadOnlySpan<char> who, ref TraceRecord r)
    {
        int dash = who.LastIndexOf('-');
        if (dash >= 0 && Int(who[(dash + 1)..], out r.Pid)) return true;
        int sp = who.LastIndexOfAny(' ', '\t');
        if (sp < 0) return false;
        ReadOnlySpan<char> id = who[(sp + 1)..];
        int slash = id.IndexOf('/');
        if (slash < 0) return Int(id, out r.Pid);
        return Int(id[..slash], out r.Tgid) && Int(id[(slash + 1)..], out r.Pid);
    }

    /// <summary>Start and length (with its colon) of the first token that is a timestamp: "6799.260564:", or digits alone for counter clocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int Start, int Length) TimeToken(ReadOnlySpan<char> t)
    {
        // Every line has one ": " right after its timestamp; a vectorized search finds the colons,
        // and only the token before each is looked at (a comm may hold one too).
        for (int from = 0; ;)
        {
            int colon = t[from..].IndexOf(": ");
            if (colon < 0) return (-1, 0);
            colon += from;
            int i = colon, dots = 0;
            while (i > 0 && (char.IsAsciiDigit(t[i - 1]) || t[i - 1] == '.'))
            {
                if (t[i - 1] == '.') dots++;
                i--;
            }
            if (i < colon && i > 0 && t[i - 1] is ' ' or '\t' && dots <= 1 && char.IsAsciiDigit(t[i])) return (i, colon - i + 1);
            from = colon + 1;
        }
    }

    /// <summary>
    /// irq-info flags (trace_print_lat_fmt): 4 or 5 characters (up to 8 on RT kernels), the first
    /// d/D when IRQs are off, the third the context (Z/z NMI, H/h hardirq, s softirq, . task).
    /// </summary>
    private static bool Flags(ReadOnlySpan<char> f, ref TraceRecord r)
    {
        if (!IsFlags(f)) return false;
        r.IrqsOff = f[0] is 'd' or 'D';
        r.Context = f[2] switch
        {
            'h' or 'H' => TraceContext.Hardirq,
            's' => TraceContext.Softirq,
            'z' or 'Z' => TraceContext.Nmi,
            '.' => TraceContext.Task,
            _ => TraceContext.Unknown,
        };
        return true;
    }

    /// <summary>Index of the '[' of the first "[digits]" in the line.</summary>
    private static int CpuBracket(ReadOnlySpan<char> t)
    {
        for (int i = t.IndexOf('['); i >= 0 && i < t.Length;)
        {
            int j = i + 1;
            while (j < t.Length && char.IsAsciiDigit(t[j])) j++;
            if (j > i + 1 && j < t.Length && t[j] == ']') return i;
            int next = t[(i + 1)..].IndexOf('[');
            if (next < 0) return -1;
            i += next + 1;
        }
        return -1;
    }

    private static bool IsFlags(ReadOnlySpan<char> f)
    {
        if (f.Length is < 4 or > 8) return false;
        foreach (char c in f)
        {
            if (!(char.IsAsciiLetter(c) || char.IsAsciiDigit(c) || c == '.')) return false;
        }
        return true;
    }

    private static bool Timestamp(ReadOnlySpan<char> s, out long ns)
    {
        ns = 0;
        int dot = s.IndexOf('.');
        if (dot < 0) return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ns);
        if (!long.TryParse(s[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out long sec)) return false;
        ReadOnlySpan<char> frac = s[(dot + 1)..];
        // "%5lu.%06lu" (ftrace, trace-cmd, perf) or nine digits (perf --ns): any other width is a cut line.
        if (frac.Length is not (6 or 9) || !long.TryParse(frac, NumberStyles.None, CultureInfo.InvariantCulture, out long f)) return false;
        for (int i = frac.Length; i < 9; i++) f *= 10;
        ns = (sec * 1_000_000_000) + f;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static LineKind Body(ReadOnlySpan<char> b, ref TraceRecord r, ref LineFacts facts)
    {
        if (b.StartsWith("sys_"))
        {
            int paren = b.IndexOf('(');
            int arrow = b.IndexOf(" -> ");
            int colon = b.IndexOf(':');
            int nameEnd = paren > 0 && (arrow < 0 || paren < arrow) ? paren : arrow;
            if (nameEnd > 0 && (colon < 0 || nameEnd < colon) && b[..nameEnd].ContainsAnyExcept(s_identifier)) return Fail(ref facts, "a syscall name that is not an identifier (garbled?)");
            if (paren > 0 && (colon < 0 || paren < colon)) return SyscallEnter(b[..paren], b[(paren + 1)..], named: false, ref r, ref facts);
            if (arrow > 0 && (colon < 0 || arrow < colon)) return SyscallExit(b[..arrow], b[(arrow + 4)..], ref r, ref facts);
        }
        int c = b.IndexOf(':');
        if (c <= 0) return Fail(ref facts, "no event name");
        ReadOnlySpan<char> name = b[..c];
        if (c + 1 < b.Length && b[c + 1] != ' ')
        {
            // perf script names the system too: "sched:sched_switch: ..."
            int c2 = b[(c + 1)..].IndexOf(':');
            if (c2 > 0)
            {
                name = b[(c + 1)..(c + 1 + c2)];
                c += 1 + c2;
            }
        }
        // Event names are C identifiers: anything else is a garbled line, not an event of another kind.
        if (name.ContainsAnyExcept(s_identifier)) return Fail(ref facts, "an event name that is not an identifier (garbled?)");
        ReadOnlySpan<char> body = b[(c + 1)..].Trim();
        // trace-cmd and perf name the syscall events: "sys_enter_membarrier: cmd: 0x00000008, ...",
        // "sys_exit_membarrier: 0x0", and with -R "__syscall_nr=324 cmd=0x00000008 ..." / "ret=0x0".
        if (name.StartsWith("sys_enter_")) return SyscallEnter(name is "sys_enter_membarrier" ? "sys_membarrier" : name, body, named: true, ref r, ref facts);
        if (name.StartsWith("sys_exit_"))
        {
            int ret = body.IndexOf("ret=");
            return SyscallExit(name is "sys_exit_membarrier" ? "sys_membarrier" : name, ret >= 0 ? Word(body[(ret + 4)..]) : body, ref r, ref facts);
        }
        r.Kind = KindOf(name);
        return r.Kind switch
        {
            TraceEventKind.SchedSwitch => SchedSwitch(body, ref r, ref facts),
            TraceEventKind.SchedWakeup or TraceEventKind.SchedWakeupNew or TraceEventKind.SchedWaking => Wakeup(body, ref r, ref facts),
            // The last field of each format must be there whole: a line cut short is a lost event, not a different one.
            TraceEventKind.SchedMigrateTask => Need(ref facts, Field(body, " pid=", out r.Task) && Last(body, "dest_cpu=", out r.TargetCpu), "sched_migrate_task without pid= or dest_cpu="),
            // -R names the raw fields: "parent_comm=sh parent_pid=21698 child_comm=sh child_pid=21699".
            TraceEventKind.SchedProcessFork => Need(ref facts, (Field(body, " pid=", out r.Task) || Field(body, "parent_pid=", out r.Task)) && Last(body, "child_pid=", out r.Other),
                "sched_process_fork without pid= or child_pid="),
            TraceEventKind.SchedProcessExec => Need(ref facts, Field(body, " pid=", out r.Task) && Last(body, "old_pid=", out r.Other), "sched_process_exec without pid= or old_pid="),
            TraceEventKind.SchedProcessExit => Need(ref facts, Field(body, " pid=", out r.Task) && ExitTail(body), "sched_process_exit without pid=, prio= or group_dead="),
            TraceEventKind.TlbFlush => TlbFlush(body, ref r, ref facts),
            TraceEventKind.IpiSendCpu => Need(ref facts, Field(body, "cpu=", out r.TargetCpu) && body.Contains("callback=", StringComparison.Ordinal), "ipi_send_cpu without cpu= or callback="),
            TraceEventKind.IpiSendCpumask => Cpumask(body, ref r, ref facts),
            TraceEventKind.CsdQueueCpu => Need(ref facts, Field(body, "cpu=", out r.TargetCpu) && Func(body, ref r) && Csd(body, ref r), "csd_queue_cpu without cpu=, func= or csd="),
            TraceEventKind.CsdFunctionEntry or TraceEventKind.CsdFunctionExit => Need(ref facts, Func(body, ref r) && Csd(body, ref r), "csd_function event without func= or csd="),
            TraceEventKind.IrqVectorEntry or TraceEventKind.IrqVectorExit => Need(ref facts, Last(body, "vector=", out r.Vector) && VectorFits(name, r.Vector), "irq vector event without its vector="),
            _ => LineKind.Event,
        };
    }

    private static LineKind Need(ref LineFacts facts, bool ok, string why) => ok ? LineKind.Event : Fail(ref facts, why);

    private static TraceEventKind KindOf(ReadOnlySpan<char> name) => name switch
    {
        "sched_switch" => TraceEventKind.SchedSwitch,
        "sched_wakeup" => TraceEventKind.SchedWakeup,
        "sched_wakeup_new" => TraceEventKind.SchedWakeupNew,
        "sched_waking" => TraceEventKind.SchedWaking,
        "sched_migrate_task" => TraceEventKind.SchedMigrateTask,
        "sched_process_fork" => TraceEventKind.SchedProcessFork,
        "sched_process_exec" => TraceEventKind.SchedProcessExec,
        "sched_process_exit" => TraceEventKind.SchedProcessExit,
        "tlb_flush" => TraceEventKind.TlbFlush,
        "ipi_send_cpu" => TraceEventKind.IpiSendCpu,
        "ipi_send_cpumask" => TraceEventKind.IpiSendCpumask,
        "csd_queue_cpu" => TraceEventKind.CsdQueueCpu,
        "csd_function_entry" => TraceEventKind.CsdFunctionEntry,
        "csd_function_exit" => TraceEventKind.CsdFunctionExit,
        _ when IsVector(name, "_entry") => TraceEventKind.IrqVectorEntry,
        _ when IsVector(name, "_exit") => TraceEventKind.IrqVectorExit,
        _ => TraceEventKind.Other,
    };

    private static bool IsVector(ReadOnlySpan<char> name, string suffix) =>
        name.EndsWith(suffix) && name[..^suffix.Length] is "call_function" or "call_function_single" or "reschedule" or "local_timer"
            or "irq_work" or "x86_platform_ipi" or "spurious_apic" or "error_apic" or "threshold_apic" or "deferred_error_apic" or "thermal_apic";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static LineKind SchedSwitch(ReadOnlySpan<char> body, ref TraceRecord r, ref LineFacts facts)
    {
        // "==>" between prev and next, except in trace-cmd's raw layout (-R): "... prev_state=1 next_comm=...".
        int arrow = body.IndexOf("==>");
        int raw = body.IndexOf(" next_comm=");
        if (arrow < 0 && raw < 0) return Fail(ref facts, "sched_switch without ==>");
        ReadOnlySpan<char> prev = arrow >= 0 ? body[..arrow] : body[..raw], next = arrow >= 0 ? body[(arrow + 3)..] : body[raw..];
        if (Field(prev, "prev_pid=", out r.Task) && Field(next, "next_pid=", out r.Other))
        {
            int st = prev.IndexOf("prev_state=");
            if (st < 0) return Fail(ref facts, "sched_switch without prev_state=");
            if (!Last(next, "next_prio=", out _)) return Fail(ref facts, "sched_switch without next_prio= (cut short?)");
            r.PrevState = State(Word(prev[(st + "prev_state=".Length)..]));
            return LineKind.Event;
        }
        // trace-cmd's plugin layout: "comm:pid [prio] STATE ==> comm:pid [prio]"
        int pb = prev.LastIndexOf('[');
        int nb = next.IndexOf('[');
        if (pb > 0 && nb > 0 && next.TrimEnd().EndsWith("]") && PidBeforeBracket(prev[..pb], out r.Task) && PidBeforeBracket(next[..nb], out r.Other))
        {
            int pe = prev.LastIndexOf(']');
            r.PrevState = State(prev[(pe + 1)..].Trim());
            return LineKind.Event;
        }
        return Fail(ref facts, "sched_switch without prev_pid= and next_pid=");
    }

    /// <summary>sched_wakeup / _new / sched_waking: "comm=x pid=1 prio=120 target_cpu=001", or trace-cmd's plugin "comm:pid [prio] CPU:001".</summary>
    private static LineKind Wakeup(ReadOnlySpan<char> body, ref TraceRecord r, ref LineFacts facts)
    {
        if (Field(body, " pid=", out r.Task) && Last(body, "target_cpu=", out r.TargetCpu)) return LineKind.Event;
        int bracket = body.LastIndexOf('[');
        int cpu = body.LastIndexOf("CPU:");
        if (bracket > 0 && cpu > bracket && PidBeforeBracket(body[..bracket], out r.Task) && Int(Word(body[(cpu + 4)..]), out r.TargetCpu)) return LineKind.Event;
        return Fail(ref facts, "wakeup without pid= or target_cpu=");
    }

    private static bool PidBeforeBracket(ReadOnlySpan<char> s, out int pid)
    {
        s = s.Trim();
        int colon = s.LastIndexOf(':');
        pid = 0;
        return colon >= 0 && Int(s[(colon + 1)..], out pid);
    }

    /// <summary>0 when the task stayed runnable (R, R+, or 0 / 0x100 in raw mode), 1 when it blocked.</summary>
    private static int State(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s[0] == 'R') return 0;
        if (char.IsAsciiDigit(s[0]) && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v)) return (v & 0xFF) == 0 ? 0 : 1;
        return 1;
    }

    private static LineKind TlbFlush(ReadOnlySpan<char> body, ref TraceRecord r, ref LineFacts facts)
    {
        // pages:%ld reason:%s (%d): key on the trailing "(N)"; the strings changed across kernels.
        // trace-cmd prints "pages=-1 reason= (4)" (no symbol table), and with -R "reason=4 pages=-1".
        int p = body.IndexOf("pages:");
        if (p < 0) p = body.IndexOf("pages=");
        int lp = body.LastIndexOf('(');
        int raw = body.IndexOf("reason=");
        if (p < 0 || ((lp < 0 || !body.EndsWith(")")) && raw < 0)) return Fail(ref facts, "tlb_flush without pages: or (reason)");
        if (!long.TryParse(Word(body[(p + 6)..]), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out r.Pages)) return Fail(ref facts, "tlb_flush pages: not a number");
        if (lp >= 0 && body.EndsWith(")")) return Int(body[(lp + 1)..^1], out r.Reason) ? LineKind.Event : Fail(ref facts, "tlb_flush reason (N) not a number");
        return Int(Word(body[(raw + 7)..]), out r.Reason) ? LineKind.Event : Fail(ref facts, "tlb_flush reason= not a number");
    }

    private static LineKind Cpumask(ReadOnlySpan<char> body, ref TraceRecord r, ref LineFacts facts)
    {
        int k = body.IndexOf("cpumask=");
        if (k < 0 || !body.Contains("callback=", StringComparison.Ordinal)) return Fail(ref facts, "ipi_send_cpumask without cpumask= or callback=");
        ReadOnlySpan<char> m = body[(k + 8)..];
        int end = m.IndexOf(' ');
        if (end >= 0) m = m[..end];
        return ParseMask(m, out r.Mask, out r.MaskWide) ? LineKind.Event : Fail(ref facts, "cpumask is neither hex words nor a CPU list");
    }

    /// <summary>A cpumask as the kernel prints it (hex 32-bit words, "00000000,00000003") or as a list ("0-1,4"); may be empty.</summary>
    public static bool ParseMask(ReadOnlySpan<char> m, out ulong mask, out bool wide)
    {
        mask = 0;
        wide = false;
        if (m.IsEmpty) return true;
        if (LooksLikeHexWords(m))
        {
            // Rightmost word is CPUs 0-31.
            int bit = 0;
            for (int end = m.Length; end > 0;)
            {
                int comma = m[..end].LastIndexOf(',');
                ReadOnlySpan<char> word = m[(comma + 1)..end];
                if (!uint.TryParse(word, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint w)) return false;
                if (bit < 64) mask |= (ulong)w << bit;
                else if (w != 0) wide = true;
                bit += 32;
                end = comma < 0 ? 0 : comma;
            }
            return true;
        }
        foreach (Range part in m.Split(','))
        {
            ReadOnlySpan<char> p = m[part];
            int dash = p.IndexOf('-');
            int lo, hi;
            if (dash < 0)
            {
                if (!Int(p, out lo)) return false;
                hi = lo;
            }
            else if (!Int(p[..dash], out lo) || !Int(p[(dash + 1)..], out hi) || hi < lo)
            {
                return false;
            }
            for (int c = lo; c <= hi; c++)
            {
                if (c < 64) mask |= 1UL << c;
                else wide = true;
            }
        }
        return true;
    }

    /// <summary>Hex words are 8 digits each ("00000003"); a list such as "0" or "3" is shorter.</summary>
    private static bool LooksLikeHexWords(ReadOnlySpan<char> m)
    {
        foreach (Range part in m.Split(','))
        {
            if (m[part].Length != 8 || m[part].Contains('-')) return false;
        }
        return true;
    }

    private static bool Func(ReadOnlySpan<char> body, ref TraceRecord r)
    {
        int k = body.IndexOf("func=");
        if (k < 0) return false;
        ReadOnlySpan<char> f = body[(k + 5)..];
        int end = f.IndexOfAny(", ");
        if (end >= 0)
        {
            // "func=ipi_mb, csd=" (ftrace), "func=ipi_mb csd=" (trace-cmd, csd_queue_cpu): the csd follows at once.
            ReadOnlySpan<char> rest = f[end..];
            if (!rest.StartsWith(", csd=") && !rest.StartsWith(" csd=")) return false;
            f = f[..end];
        }
        int plus = f.IndexOf('+');
        if (plus >= 0) f = f[..plus];
        if (f.IsEmpty || f.ContainsAnyExcept(s_identifier)) return false; // a kernel symbol, or a garbled line
        r.Func = f switch
        {
            "flush_tlb_func" => CsdFunc.FlushTlbFunc,
            "ipi_mb" => CsdFunc.IpiMb,
            "ipi_sync_core" => CsdFunc.IpiSyncCore,
            "ipi_rseq" => CsdFunc.IpiRseq,
            "ipi_sync_rq_state" => CsdFunc.IpiSyncRqState,
            "enable_lam_func" => CsdFunc.EnableLamFunc,
            "do_sync_core" => CsdFunc.DoSyncCore,
            _ => CsdFunc.Other,
        };
        return true;
    }

    /// <summary>"csd=00000000314ab26a" (ftrace hashes pointers), "csd=0xffff888627d32660" (trace-cmd, perf), "csd=(nil)" or all zeros: run locally.</summary>
    private static bool Csd(ReadOnlySpan<char> body, ref TraceRecord r)
    {
        int k = body.IndexOf("csd=");
        if (k < 0) return false;
        ReadOnlySpan<char> v = Word(body[(k + 4)..]);
        if (v is "(nil)")
        {
            r.Csd = 0;
            return true;
        }
        if (v.StartsWith("0x")) v = v[2..];
        // ftrace prints the hashed %p in 16 digits; a raw pointer (trace-cmd, perf) has its 0x.
        else if (v.Length != 16) return false;
        return ulong.TryParse(v, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out r.Csd);
    }

    /// <param name="named">trace-cmd's and perf's "sys_enter_membarrier: ..." rather than the kernel's "sys_membarrier(...)".</param>
    private static LineKind SyscallEnter(ReadOnlySpan<char> name, ReadOnlySpan<char> args, bool named, ref TraceRecord r, ref LineFacts facts)
    {
        if (name is not "sys_membarrier")
        {
            r.Kind = TraceEventKind.OtherSyscall;
            return LineKind.Event;
        }
        r.Kind = TraceEventKind.SysEnterMembarrier;
        if (!named)
        {
            if (!args.EndsWith(")")) return Fail(ref facts, "sys_membarrier( without closing parenthesis (truncated?)");
            args = args[..^1];
        }
        // New kernels print values < 10 in decimal and the rest as 0x..; old ones print bare hex;
        // trace-cmd and perf print 0x%08lx, and -R "cmd=0x00000008 flags=0x00000000".
        bool bareHex = args.IndexOf("0x") < 0;
        r.Cmd = r.Flags = 0;
        r.CpuId = -1;
        if (!Arg(args, "cmd", bareHex, out long cmd)) return Fail(ref facts, "sys_membarrier without a numeric cmd");
        r.Cmd = (int)cmd;
        if (Arg(args, "flags", bareHex, out long flags)) r.Flags = (int)flags;
        if (Arg(args, "cpu_id", bareHex, out long cpuId)) r.CpuId = (int)cpuId;
        return LineKind.Event;
    }

    /// <summary>A syscall argument "key: value" or "key=value", the key at the start or after a space or comma.</summary>
    private static bool Arg(ReadOnlySpan<char> args, string key, bool bareHex, out long value)
    {
        value = 0;
        for (int k = args.IndexOf(key); k >= 0;)
        {
            int end = k + key.Length;
            if ((k == 0 || args[k - 1] is ' ' or ',') && end < args.Length && args[end] is ':' or '=')
            {
                ReadOnlySpan<char> v = args[(end + 1)..].TrimStart();
                int stop = v.IndexOfAny(", )");
                return SyscallValue(stop < 0 ? v : v[..stop], bareHex, out value);
            }
            int next = args[end..].IndexOf(key);
            k = next < 0 ? -1 : end + next;
        }
        return false;
    }

    private static LineKind SyscallExit(ReadOnlySpan<char> name, ReadOnlySpan<char> ret, ref TraceRecord r, ref LineFacts facts)
    {
        if (name is not "sys_membarrier")
        {
            r.Kind = TraceEventKind.OtherSyscall;
            return LineKind.Event;
        }
        r.Kind = TraceEventKind.SysExitMembarrier;
        ret = ret.Trim();
        if (!SyscallValue(ret, bareHex: true, out r.Ret)) return Fail(ref facts, "sys_membarrier -> value not a number");
        // membarrier returns 0, a small bitmask (QUERY, GET_REGISTRATIONS) or -errno, printed as 16 hex digits: anything else is a cut line.
        bool fits = r.Ret is >= 0 and <= 0xffff || (r.Ret is >= -4095 and < 0 && (!ret.StartsWith("0x") || ret.Length == 18));
        return fits ? LineKind.Event : Fail(ref facts, "sys_membarrier -> value is neither a small bitmask nor -errno (cut short?)");
    }

    private static bool SyscallValue(ReadOnlySpan<char> v, bool bareHex, out long value)
    {
        value = 0;
        if (v.StartsWith("0x"))
        {
            if (!ulong.TryParse(v[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong u)) return false;
            value = (long)u;
            return true;
        }
        if (bareHex && ulong.TryParse(v, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong h))
        {
            value = (long)h;
            return true;
        }
        return long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// The integer after <paramref name="key"/> (e.g. "target_cpu=002"), up to the next space or
    /// comma. A key starting with a space (" pid=") is searched from the end, so a comm before it
    /// may hold anything, and also matches at the very start of the body.
    /// </summary>
    private static bool Field(ReadOnlySpan<char> body, string key, out int value)
    {
        value = 0;
        int k = key[0] == ' ' ? body.LastIndexOf(key) : body.IndexOf(key);
        if (k >= 0) return Int(Word(body[(k + key.Length)..]), out value);
        return key[0] == ' ' && body.StartsWith(key.AsSpan(1)) && Int(Word(body[(key.Length - 1)..]), out value);
    }

    /// <summary>The integer after the last <paramref name="key"/>, which must end the body: the format's last field, whole.</summary>
    private static bool Last(ReadOnlySpan<char> body, string key, out int value)
    {
        value = 0;
        int k = body.LastIndexOf(key);
        if (k < 0 || (k > 0 && body[k - 1] != ' ')) return false;
        ReadOnlySpan<char> v = body[(k + key.Length)..].TrimEnd();
        return !v.IsEmpty && !v.ContainsAny(' ', ',') && Int(v, out value);
    }

    /// <summary>sched_process_exit ends with prio=N, and since 6.16 group_dead=true|false (trace-cmd -R: 0 or 1).</summary>
    private static bool ExitTail(ReadOnlySpan<char> body)
    {
        int g = body.LastIndexOf(" group_dead=");
        if (g < 0) return Last(body, "prio=", out _);
        ReadOnlySpan<char> v = body[(g + " group_dead=".Length)..].TrimEnd();
        return v is "true" or "false" or "0" or "1" && Last(body[..g], "prio=", out _);
    }

    /// <summary>x86's fixed vectors (arch/x86/include/asm/irq_vectors.h): a cut number is not another vector.</summary>
    private static bool VectorFits(ReadOnlySpan<char> name, int vector) => name switch
    {
        "call_function_single_entry" or "call_function_single_exit" => vector == 251,
        "call_function_entry" or "call_function_exit" => vector == 252,
        "reschedule_entry" or "reschedule_exit" => vector == 253,
        _ => vector > 0,
    };

    private static ReadOnlySpan<char> Word(ReadOnlySpan<char> s)
    {
        int end = s.IndexOfAny(" ,");
        return end < 0 ? s : s[..end];
    }

    private static bool Int(ReadOnlySpan<char> s, out int value) =>
        int.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
}
