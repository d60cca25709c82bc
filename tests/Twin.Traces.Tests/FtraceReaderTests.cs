using Twin.Traces.Ftrace;

namespace Twin.Traces.Tests;

/// <summary>The ftrace text importer on the real recordings in replays/ftrace and on every layout variant of trace-formats.</summary>
public sealed class FtraceReaderTests
{
    private sealed class Collect : ITraceSink
    {
        public List<TraceRecord> Records { get; } = [];

        public void OnEvent(in TraceRecord record) => Records.Add(record);
    }

    private static (ReadReport Report, List<TraceRecord> Records) ReadText(string text, bool strict = false)
    {
        var sink = new Collect();
        ReadReport report = FtraceReader.Read(new StringReader(text), "test.trace", sink, strict);
        return (report, sink.Records);
    }

    private static TraceRecord One(string line)
    {
        (ReadReport report, List<TraceRecord> records) = ReadText(line + "\n");
        Assert.True(report.Unparsed == 0, report.FirstUnparsed.FirstOrDefault()?.Reason);
        return Assert.Single(records);
    }

    [Theory]
    [InlineData("mb-3t.trace")]
    [InlineData("mix-2t-global.trace")]
    [InlineData("mb-3t-twin.trace")]
    [InlineData("rseq-2t.trace")]
    public void A_real_recording_imports_with_no_unparsed_line_and_the_counts_grep_finds(string name)
    {
        string path = ReplayFiles.Path(name);
        var summary = new TraceSummary();
        ReadReport report = FtraceReader.Read(path, summary);
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(0, report.Unparsed);
        Assert.Equal(lines.Length, report.Lines);
        Assert.Equal(lines.Count(l => !l.StartsWith('#') && l.Trim().Length > 0), report.Events);
        Assert.Equal(2, report.Cpus);
        Assert.Equal(0, report.Overwritten);

        // An independent count by plain text search, against the parser's.
        long Grep(string s) => lines.Count(l => l.Contains(s, StringComparison.Ordinal));
        Assert.Equal(Grep(": sched_switch: "), summary.Count(TraceEventKind.SchedSwitch));
        Assert.Equal(Grep(": sys_membarrier("), summary.Count(TraceEventKind.SysEnterMembarrier));
        Assert.Equal(Grep(": sys_membarrier -> "), summary.Count(TraceEventKind.SysExitMembarrier));
        Assert.Equal(Grep("csd_function_entry: func=flush_tlb_func,"), summary.Callbacks(CsdFunc.FlushTlbFunc));
        Assert.Equal(Grep("csd_function_entry: func=ipi_mb,"), summary.Callbacks(CsdFunc.IpiMb));
        Assert.Equal(Grep("csd_function_entry: func=ipi_sync_core,"), summary.Callbacks(CsdFunc.IpiSyncCore));
        Assert.Equal(Grep(": ipi_send_cpu: "), summary.Count(TraceEventKind.IpiSendCpu));
        Assert.Equal(Grep(": tlb_flush: "), summary.TlbFlushesByReason.Sum());
        Assert.Equal(summary.Membarrier.Values.Sum(m => m.Calls), summary.Membarrier.Values.Sum(m => m.Ok + m.Failed));
    }

    [Fact]
    public void The_membarrier_workload_shows_its_calls_and_the_one_EPERM()
    {
        var summary = new TraceSummary();
        FtraceReader.Read(ReplayFiles.Path("mb-3t.trace"), summary);
        // workload-mb.c: QUERY, PRIVATE_EXPEDITED before registering (-EPERM), two REGISTERs, then 100 iterations.
        Assert.Equal((1L, 1L, 0L), summary.Membarrier[0]);
        Assert.Equal((101L, 100L, 1L), summary.Membarrier[8]);
        Assert.Equal((100L, 100L, 0L), summary.Membarrier[32]);
        Assert.Equal(1, summary.Membarrier[16].Calls);
        Assert.Equal(1, summary.Membarrier[64].Calls);
    }

    [Fact]
    public void Prefix_layouts_tgid_flags_and_comms_with_spaces_and_dashes()
    {
        TraceRecord a = One("       record.sh-13396   (  13396) [000] ...1.   293.865519: tlb_flush: pages:-1 reason:remote IPI send (4)");
        Assert.Equal((13396, 13396, 0, 293_865_519_000L, -1L, 4), (a.Pid, a.Tgid, a.Cpu, a.TimeNs, a.Pages, a.Reason));
        TraceRecord b = One("          <idle>-0       (-------) [001] d.h1.   293.865539: call_function_single_entry: vector=251");
        Assert.Equal((0, -1, 1, TraceEventKind.IrqVectorEntry, 251), (b.Pid, b.Tgid, b.Cpu, b.Kind, b.Vector));
        TraceRecord c = One("   Jit thread pool-7464  [003] d.h. 26186.336630: sched_wakeup: comm=Jit thread pool pid=7465 prio=120 target_cpu=002");
        Assert.Equal((7464, -1, 3, 7465, 2), (c.Pid, c.Tgid, c.Cpu, c.Task, c.TargetCpu));
        TraceRecord d = One("  <idle>-0     [002]  2084.021659: sched_switch: prev_comm=swapper/2 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kworker/2:1 next_pid=2923 next_prio=120");
        Assert.Equal((0, 2923, 0), (d.Task, d.Other, d.PrevState));
        TraceRecord e = One("  kworker/u17:1-959   (  959) [006] d..3   538.064659: sched_switch: prev_comm=kworker/u17:1 prev_pid=959 prev_prio=120 prev_state=D|K ==> next_comm=<-transport next_pid=5851 next_prio=120");
        Assert.Equal((959, 5851, 1), (e.Task, e.Other, e.PrevState));
        TraceRecord f = One("  <idle>-0     [002]  2084.021659: sched_switch: swapper/2:0 [120] R ==> kworker/2:1:2923 [120]");
        Assert.Equal((0, 2923, 0), (f.Task, f.Other, f.PrevState));
        TraceRecord g = One("            perf-232 [000]    66.846217: sched:sched_switch: prev_comm=perf prev_pid=232 prev_prio=120 prev_state=S ==> next_comm=perf next_pid=234 next_prio=120");
        Assert.Equal((TraceEventKind.SchedSwitch, 232, 234, 1), (g.Kind, g.Task, g.Other, g.PrevState));
    }

    [Fact]
    public void Syscalls_without_an_event_name_in_new_and_old_value_formats()
    {
        TraceRecord n = One("  mb-100 (  100) [000] .....   1.000000: sys_membarrier(cmd: 0x20, flags: 0, cpu_id: 0)");
        Assert.Equal((TraceEventKind.SysEnterMembarrier, 32, 0, 0), (n.Kind, n.Cmd, n.Flags, n.CpuId));
        TraceRecord o = One("  mb-100 [000] ....   1.000000: sys_membarrier(cmd: 20, flags: 0)");
        Assert.Equal((32, -1), (o.Cmd, o.CpuId));
        TraceRecord x = One("  mb-100 [000] ....   1.000001: sys_membarrier -> 0xffffffffffffffff");
        Assert.Equal((TraceEventKind.SysExitMembarrier, -1L), (x.Kind, x.Ret));
        TraceRecord other = One("           <...>-4083  [004] ....   395.706020: sys_exit_group(error_code: 7f)");
        Assert.Equal(TraceEventKind.OtherSyscall, other.Kind);
    }

    [Theory]
    [InlineData("00000000,00000003", 0b11UL)]
    [InlineData("00000001,00000000", 1UL << 32)]
    [InlineData("0-1,4", 0b10011UL)]
    [InlineData("14,17,21", (1UL << 14) | (1UL << 17) | (1UL << 21))]
    [InlineData("", 0UL)]
    public void Cpumasks_as_hex_words_lists_or_empty(string mask, ulong expected)
    {
        TraceRecord r = One($"  x-1 [000] d..1.   1.000000: ipi_send_cpumask: cpumask={mask} callsite=on_each_cpu_cond_mask+0x40 callback=flush_tlb_func+0x0");
        Assert.Equal(expected, r.Mask);
    }

    [Fact]
    public void Tlb_flush_keys_on_the_reason_number_whatever_the_string()
    {
        Assert.Equal(5, One("  x-1 [000] d..1.   1.000000: tlb_flush: pages:0 reason:0x5 (5)").Reason);
        Assert.Equal(3, One("  x-1 [000] d..1.   1.000000: tlb_flush: pages:1 reason:local MM shootdown (3)").Reason);
    }

    [Fact]
    public void Markers_and_preambles_are_understood()
    {
        (ReadReport report, List<TraceRecord> records) = ReadText(string.Join('\n',
            "cpus=4",
            "# entries-in-buffer/entries-written: 100/150   #P:4",
            "##### CPU 2 buffer started ####",
            "CPU:1 [LOST 42 EVENTS]",
            "  x-1 [001] d..1.   1.000000: sched_waking: comm=x pid=1 prio=120 target_cpu=001",
            " => __schedule+0x1/0x2",
            ""));
        // The LOST marker is passed on (not counted as an event), so what follows knows where the trace is blind.
        Assert.Equal([TraceEventKind.Lost, TraceEventKind.SchedWaking], records.Select(r => r.Kind));
        Assert.Equal((1, 42L, 4L), (records[0].Cpu, records[0].Ret, records[0].Line));
        Assert.Equal((4, 50L, 42L, 0L, 1L), (report.Cpus, report.Overwritten, report.Lost, report.Unparsed, report.Events));
    }

    [Fact]
    public void A_truncated_last_line_is_counted_with_its_line_number_and_strict_makes_it_fatal()
    {
        string text = "  x-1 [001] d..1.   1.000000: sched_waking: comm=x pid=1 prio=120 target_cpu=001\n  x-1 [001] d..1.   1.00";
        (ReadReport report, _) = ReadText(text);
        Assert.Equal(1, report.Unparsed);
        Assert.Equal(2, report.FirstUnparsed[0].Line);
        var e = Assert.Throws<TraceFormatException>(() => ReadText(text, strict: true));
        Assert.StartsWith("test.trace:2: ", e.Message);
    }

    [Theory]
    [InlineData("", "empty file")]
    [InlineData("hello\nthis is not a trace\n", "no trace event in 2 lines")]
    [InlineData("\u007fELF\0\u0001\u0002", "binary data")]
    public void Files_that_are_not_ftrace_text_are_refused_by_name(string text, string message)
    {
        var e = Assert.Throws<TraceFormatException>(() => ReadText(text));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("test.trace", e.Message);
    }

    [Fact]
    public void A_stray_binary_line_inside_a_trace_is_one_unparsed_line_and_the_rest_reads()
    {
        // Half of mix-2t-global's 10,093 lines, one of them overwritten with binary bytes (a torn
        // write, a disk error): that line is unparsed like any other, the rest of the file reads.
        string[] lines = File.ReadAllLines(ReplayFiles.Path("mix-2t-global.trace"))[..3000];
        int clean = ReadText(string.Join('\n', lines)).Records.Count;
        lines[1500] = "\u0017\u0008D\0\0\u0001binary\0";
        (ReadReport report, List<TraceRecord> records) = ReadText(string.Join('\n', lines));
        Assert.Equal(1, report.Unparsed);
        Assert.Equal(1501, report.FirstUnparsed[0].Line);
        Assert.Equal("binary data (a NUL byte)", report.FirstUnparsed[0].Reason);
        // The line is an event lost, of a CPU it does not name: passed on as a loss, in its place.
        TraceRecord lost = Assert.Single(records, r => r.Kind == TraceEventKind.Lost);
        Assert.Equal((1501L, -1), (lost.Line, lost.Cpu));
        Assert.Equal(clean - 1, records.Count(r => r.Kind != TraceEventKind.Lost));
        Assert.Throws<TraceFormatException>(() => ReadText(string.Join('\n', lines), strict: true));
    }

    [Theory]
    [InlineData("\u0017\u0008Dtracing6\0\u0001\u0008", "a trace-cmd binary trace.dat; give the text of 'trace-cmd report' on it")]
    [InlineData("PERFILE2h\0\0\0", "a perf.data file; give the text of 'perf script' on it")]
    public void A_binary_recording_is_refused_naming_the_tool_that_prints_it(string start, string message)
    {
        var e = Assert.Throws<TraceFormatException>(() => ReadText(start + "\nmore"));
        Assert.Equal("test.trace: " + message, e.Message);
    }
}
