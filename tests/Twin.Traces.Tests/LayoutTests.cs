using Twin.Traces.Ftrace;

namespace Twin.Traces.Tests;

/// <summary>
/// Every layout kernel developers print the same tracepoints in, on real samples under replays/:
/// trace-cmd report (default, -l, -R, --cpu) and perf script of one workload on this machine, next
/// to the ftrace text of the same ring buffer.
/// </summary>
public sealed class LayoutTests
{
    public static TheoryData<string> Traces() => [.. ReplayFiles.All()];

    private static (ReadReport Report, TraceSummary Summary, TraceChecker Checker) Import(string name)
    {
        string path = ReplayFiles.Path(name);
        TraceChecker checker = ReplayFiles.CheckerFor(path);
        var summary = new TraceSummary();
        ReadReport report = FtraceReader.Read(path, new BothSinks(summary, checker));
        return (report, summary, checker);
    }

    [Theory]
    [MemberData(nameof(Traces))]
    public void Every_trace_under_replays_imports_with_no_unparsed_line_and_no_violation(string name)
    {
        (ReadReport report, _, TraceChecker checker) = Import(name);
        Assert.True(report.Unparsed == 0, $"{name}: {report.FirstUnparsed.FirstOrDefault()}");
        // Every line that carries a timestamp is an event; only the preamble and comments are not.
        int timed = File.ReadLines(ReplayFiles.Path(name)).Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"\s\d+\.\d{6,9}:\s"));
        Assert.Equal(timed, report.Events);
        // ... and rebuilt into the model's events, the monitors that decide from them find nothing either,
        // but on a recording of a kernel bug, where only that bug's property is broken, each case naming it.
        (_, Twin.Traces.Replay.TraceCheck check) = Twin.Traces.Replay.TraceCheck.Run(ReplayFiles.Path(name));
        string? bug = ReplayFiles.KernelBugs.GetValueOrDefault(name);
        foreach (SortedDictionary<string, Twin.Checking.PropertyTally> properties in (SortedDictionary<string, Twin.Checking.PropertyTally>[])[checker.Properties, check.Properties()])
        {
            Assert.All(properties.Where(p => p.Key != bug), p => Assert.True(p.Value.Violated == 0, $"{name} {p.Key}: {p.Value.Violations.FirstOrDefault()?.Message}"));
        }
        if (bug is not null)
        {
            Assert.NotEmpty(check.Properties()[bug].Violations);
            Assert.All(check.Properties()[bug].Violations, v => Assert.Contains("Twin's B21", v.Message));
        }
    }

    [Theory]
    [InlineData("trace-cmd/mb-3t.report")]
    [InlineData("trace-cmd/mb-3t.report-l")]
    [InlineData("trace-cmd/mb-3t.report-R")]
    public void A_trace_cmd_report_of_a_buffer_says_what_the_ftrace_text_of_it_says(string name)
    {
        (ReadReport text, TraceSummary expected, TraceChecker textChecker) = Import("trace-cmd/mb-3t.trace");
        (ReadReport report, TraceSummary got, TraceChecker checker) = Import(name);
        Assert.Equal(text.Events, report.Events);
        Assert.Equal(expected.Membarrier, got.Membarrier);
        foreach (TraceEventKind k in Enum.GetValues<TraceEventKind>()) Assert.True(expected.Count(k) == got.Count(k), $"{k}: {expected.Count(k)} vs {got.Count(k)}");
        foreach (CsdFunc f in Enum.GetValues<CsdFunc>()) Assert.Equal(expected.Callbacks(f), got.Callbacks(f));
        Assert.Equal(expected.TlbFlushesByReason, got.TlbFlushesByReason);
        foreach (string p in (string[])["P-PE", "P-SC", "E-RET"])
        {
            Assert.Equal(textChecker.Properties[p].Checked, checker.Properties[p].Checked);
        }
        Assert.True(checker.Properties["E-RET"].Checked > 50);
    }

    [Fact]
    public void Report_for_one_cpu_holds_only_that_cpus_events()
    {
        (ReadReport all, _, _) = Import("trace-cmd/mb-3t.report");
        (ReadReport cpu0, TraceSummary s, TraceChecker checker) = Import("trace-cmd/mb-3t.report-cpu0");
        Assert.Equal(1, s.CpusSeen);
        Assert.True(cpu0.Events < all.Events);
        Assert.Equal(0, checker.Properties["P-PE"].Violated);
    }

    [Fact]
    public void Perf_script_with_and_without_the_pid_column_reads_the_same_events()
    {
        (ReadReport plain, TraceSummary a, _) = Import("perf/mb-3t.perf-script");
        (ReadReport pidTid, TraceSummary b, _) = Import("perf/mb-3t-pidtid.perf-script");
        Assert.Equal(plain.Events, pidTid.Events);
        Assert.Equal(a.Membarrier, b.Membarrier);
        Assert.True(a.Count(TraceEventKind.SysEnterMembarrier) > 50);
        Assert.True(a.Callbacks(CsdFunc.IpiSyncCore) >= 40);
    }

    private static TraceRecord One(string line)
    {
        var sink = new Collect();
        ReadReport report = FtraceReader.Read(new StringReader(line + "\n"), "test.trace", sink);
        Assert.True(report.Unparsed == 0, report.FirstUnparsed.FirstOrDefault()?.Reason);
        return Assert.Single(sink.Records);
    }

    private sealed class Collect : ITraceSink
    {
        public List<TraceRecord> Records { get; } = [];

        public void OnEvent(in TraceRecord record) => Records.Add(record);
    }

    [Fact]
    public void Latency_layout_glues_the_cpu_to_the_flags()
    {
        TraceRecord r = One("    bash-16236   0d..2.  1135.226322: sched_switch:         bash:16236 [120] S ==> bash:16242 [120]");
        Assert.Equal((0, 16236, TraceEventKind.SchedSwitch, 16242, 1), (r.Cpu, r.Pid, r.Kind, r.Other, r.PrevState));
        Assert.Equal((TraceContext.Task, true), (r.Context, r.IrqsOff));
        TraceRecord h = One("  <idle>-0      12d.h1.  1135.226229: csd_function_entry:   func=flush_tlb_func, csd=0xffff888627d32660");
        Assert.Equal((12, TraceContext.Hardirq, CsdFunc.FlushTlbFunc, 0xffff888627d32660UL), (h.Cpu, h.Context, h.Func, h.Csd));
    }

    [Fact]
    public void Perf_script_has_no_dash_before_the_tid_and_names_the_system()
    {
        TraceRecord r = One("     migration/0    18 [000]  1153.697048:                          tlb:tlb_flush: pages:0 reason:flush on task switch (0)");
        Assert.Equal((0, 18, TraceEventKind.TlbFlush, 0L, 0), (r.Cpu, r.Pid, r.Kind, r.Pages, r.Reason));
        TraceRecord s = One("Jit thread pool 22611/22613 [001]  1482.542838:          syscalls:sys_enter_membarrier: cmd: 0x00000020, flags: 0x00000000, cpu_id: 0x00000000");
        Assert.Equal((22611, 22613, TraceEventKind.SysEnterMembarrier, 32), (s.Tgid, s.Pid, s.Kind, s.Cmd));
        Assert.Equal(TraceContext.Unknown, s.Context);
        TraceRecord x = One("              mb 16675 [001]  1153.698241:           syscalls:sys_exit_membarrier: 0xffffffffffffffff");
        Assert.Equal((TraceEventKind.SysExitMembarrier, -1L), (x.Kind, x.Ret));
    }

    [Fact]
    public void Raw_layout_prints_every_field_as_name_equals_value()
    {
        TraceRecord s = One("            bash-16236 [000]  1135.226322: sched_switch:          prev_comm=bash prev_pid=16236 prev_prio=120 prev_state=1 next_comm=bash next_pid=16242 next_prio=120");
        Assert.Equal((16236, 16242, 1), (s.Task, s.Other, s.PrevState));
        TraceRecord e = One("              mb-16242 [001]  1135.227176: sys_enter_membarrier:  __syscall_nr=324 cmd=0x00000040 flags=0x00000000 cpu_id=0x00000000");
        Assert.Equal((TraceEventKind.SysEnterMembarrier, 64, 0), (e.Kind, e.Cmd, e.Flags));
        TraceRecord x = One("              mb-16242 [001]  1135.227178: sys_exit_membarrier:   __syscall_nr=324 ret=0x3ff");
        Assert.Equal((TraceEventKind.SysExitMembarrier, 0x3ffL), (x.Kind, x.Ret));
        TraceRecord t = One("            bash-16236 [000]  1135.226211: tlb_flush:             reason=4 pages=-1");
        Assert.Equal((4, -1L), (t.Reason, t.Pages));
        TraceRecord w = One("            bash-16236 [000]  1135.226252: sched_wakeup_new:     bash:16242 [120] CPU:001");
        Assert.Equal((16242, 1), (w.Task, w.TargetCpu));
        TraceRecord l = One("            bash-16236 [000]  1135.226221: csd_function_entry:   func=flush_tlb_func, csd=(nil)");
        Assert.Equal(0UL, l.Csd);
        TraceRecord f = One("            bash-16236 [000]  1135.226211: tlb_flush:            pages=-1 reason= (4)");
        Assert.Equal((4, -1L), (f.Reason, f.Pages));
    }
}
