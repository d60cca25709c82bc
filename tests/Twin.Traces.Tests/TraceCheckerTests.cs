using Twin.Checking;
using Twin.Traces.Ftrace;

namespace Twin.Traces.Tests;

/// <summary>
/// membarrier's guarantees checked on the real recordings: a correct kernel is never flagged, and
/// copies mutated the way a broken kernel would behave are flagged with the right property.
/// </summary>
public sealed class TraceCheckerTests
{
    private static TraceChecker Check(string name, Func<List<string>, List<string>>? mutate = null)
    {
        string path = ReplayFiles.Path(name);
        TraceChecker checker = ReplayFiles.CheckerFor(path);
        List<string> lines = [.. File.ReadAllLines(path)];
        if (mutate is not null) lines = mutate(lines);
        ReadReport report = FtraceReader.Read(new StringReader(string.Join('\n', lines)), name, checker);
        Assert.Equal(0, report.Unparsed);
        return checker;
    }

    /// <summary>Line indexes of the IPI callbacks <paramref name="func"/> run on another CPU inside a successful call of <paramref name="cmd"/>.</summary>
    private static List<(int Enter, int Callback, int Exit)> CallbacksInCalls(List<string> lines, string cmd, string func)
    {
        var found = new List<(int, int, int)>();
        for (int i = 0; i < lines.Count; i++)
        {
            if (!lines[i].Contains($"sys_membarrier(cmd: {cmd},", StringComparison.Ordinal)) continue;
            string pid = lines[i].Trim().Split(' ')[0];
            int exit = lines.FindIndex(i + 1, l => l.Trim().StartsWith(pid, StringComparison.Ordinal) && l.Contains("sys_membarrier -> 0x0", StringComparison.Ordinal));
            if (exit < 0) continue;
            for (int j = i + 1; j < exit; j++)
            {
                if (lines[j].Contains($"csd_function_entry: func={func},", StringComparison.Ordinal)) found.Add((i, j, exit));
            }
        }
        return found;
    }

    [Theory]
    [InlineData("mb-3t.trace", "P-PE", "P-SC")]
    [InlineData("mix-2t-global.trace", "P-GE", "E-RET")]
    [InlineData("mb-3t-twin.trace", "P-PE", "P-SC")]
    [InlineData("rseq-2t.trace", "P-RSEQ", "E-RET")]
    public void A_correct_kernel_is_never_flagged_and_the_trace_has_what_to_check(string name, string p1, string p2)
    {
        TraceChecker checker = Check(name);
        Assert.All(checker.Properties, p => Assert.True(p.Value.Violated == 0, $"{p.Key}: {string.Join("; ", p.Value.Violations.Select(v => v.Message))}"));
        Assert.True(checker.Properties[p1].Checked > 50, $"{p1} checked only {checker.Properties[p1].Checked} times");
        Assert.True(checker.Properties[p2].Checked > 50, $"{p2} checked only {checker.Properties[p2].Checked} times");
    }

    [Fact]
    public void A_local_flush_whose_shootdown_began_before_the_trace_is_undecidable()
    {
        // Recorded by the CLI test on this machine (2026-12-02): CPU 1's first lines are
        // flush_tlb_func run locally (csd=0) inside a shootdown whose "remote IPI send" line came
        // before tracing began; CSD-3 once called it a run outside any call.
        const string name = "true-flush-at-start.trace";
        List<string> lines = [.. File.ReadAllLines(ReplayFiles.Path(name))];
        int first = lines.FindIndex(l => !l.StartsWith('#'));
        Assert.Contains("[001] d..3. 20769.061135: csd_function_entry: func=flush_tlb_func, csd=0000000000000000", lines[first]);
        SortedDictionary<string, Twin.Checking.PropertyTally> clean = ReplayFiles.Checked(name);
        Assert.Equal(0, clean["CSD-3"].Violated);
        Assert.Equal(1, clean["CSD-3"].UndecidableReasons[Twin.Checking.Monitors.CrossCallMonitor.FlushStartUnknown]);

        // After a switch on CPU 1 a shootdown in progress would be in view: the same local run is flagged.
        SortedDictionary<string, Twin.Checking.PropertyTally> flagged = ReplayFiles.Checked(name, l =>
        {
            l.Insert(first, "     rcu_preempt-15      (     15) [001] d..2. 20769.061100: sched_switch: prev_comm=rcu_preempt prev_pid=15 prev_prio=120 prev_state=I ==> next_comm=.NET Tiered Com next_pid=8582 next_prio=120");
            return l;
        });
        Assert.Equal(1, flagged["CSD-3"].Violated);
        Assert.Contains("ran flush_tlb_func locally outside the call that runs it", flagged["CSD-3"].Violations[0].Message);
    }

    [Fact]
    public void A_task_switched_out_just_before_the_call_is_not_taken_for_the_cpus_task()
    {
        // Recorded by the CLI test on this machine: the test host's membarrier on CPU 0 at line 78,
        // while CPU 1 had switched from one of its threads to another process at line 57. Line 58,
        // the switch's own "flush on task switch", still names the old thread as current.
        const string name = "true-switch-tail.trace";
        List<string> lines = [.. File.ReadAllLines(ReplayFiles.Path(name))];
        Assert.Contains(".NET TP Worker-11596   (  11504) [001] d..2. 31166.760262: tlb_flush: pages:0 reason:flush on task switch", lines[57]);
        Assert.Contains("sys_membarrier(cmd: 8,", lines[77]);
        TraceChecker checker = Check(name);
        Assert.Equal(0, checker.Properties["P-PE"].Violated);

        // The same call with CPU 1 left on the caller's thread (no switch away, and its next line,
        // after the return, logged by that thread) is flagged.
        TraceChecker flagged = Check(name, l =>
        {
            l[79] = ".NET TP Worker-11596   (  11504) [001] d.h.. 31166.761150: reschedule_entry: vector=253";
            l.RemoveAt(56);
            return l;
        });
        Assert.Equal(1, flagged.Properties["P-PE"].Violated);
        Assert.Contains("line 77: membarrier(PRIVATE_EXPEDITED) on CPU 0", flagged.Properties["P-PE"].Violations[0].Message);
    }

    [Fact]
    public void A_cpu_that_switches_as_the_call_returns_is_undecidable_and_one_that_runs_on_is_checked()
    {
        // Recorded under load: a FLAG_CPU call for CPU 1 returned at line 531 without an IPI, and CPU 1's
        // switch away from the caller's thread was logged at line 532, the same microsecond. __schedule()
        // had already set rq->curr to the next task, which is what membarrier read.
        const string name = "rseq-2t-loaded.trace";
        List<string> lines = [.. File.ReadAllLines(ReplayFiles.Path(name))];
        Assert.Contains("sys_membarrier(cmd: 0x80, flags: 1, cpu_id: 1)", lines[529]);
        Assert.Contains("[001] d..2. 31462.175031: sched_switch: prev_comm=rseq prev_pid=21887", lines[531]);
        TraceChecker checker = Check(name);
        Assert.Equal(0, checker.Properties["P-RSEQ"].Violated);
        Assert.Equal(1, checker.Properties["P-RSEQ"].Undecidable);

        // Had CPU 1 logged something else, later, as the same thread, the missing ipi_rseq is a violation.
        TraceChecker flagged = Check(name, l =>
        {
            l[531] = "            rseq-21887   (  21885) [001] dNH2. 31462.175032: reschedule_entry: vector=253";
            return l;
        });
        Assert.Equal(1, flagged.Properties["P-RSEQ"].Violated);
        Assert.Equal(0, flagged.Properties["P-RSEQ"].Undecidable);
        Assert.StartsWith("line 530: membarrier(PRIVATE_EXPEDITED_RSEQ) on CPU 0 returned at line 531, but CPU 1", flagged.Properties["P-RSEQ"].Violations[0].Message);
        Assert.Contains("(still at line 532)", flagged.Properties["P-RSEQ"].Violations[0].Message);
    }

    /// <summary>
    /// mb-3t's line 1176: PRIVATE_EXPEDITED on CPU 0 while CPU 1 runs thread 13399 of the caller's
    /// process; 2 µs after the return (line 1183) CPU 1 switches to thread 13400 of the same process
    /// (line 1187). With the ipi_mb csd, its IPI and its handler removed, whichever rq->curr
    /// membarrier read had the caller's mm: the trace decides it, a P-PE violation.
    /// </summary>
    public static List<string> SameMmSwitchWithoutIpiMb(List<string> lines)
    {
        Assert.Contains("sys_membarrier(cmd: 8, flags: 0, cpu_id: 0)", lines[1175]);
        Assert.Contains("csd_queue_cpu: cpu=1 callsite=membarrier_private_expedited", lines[1176]);
        Assert.Contains("call_function_single_exit", lines[1181]);
        Assert.Contains("prev_pid=13399 prev_prio=120 prev_state=S ==> next_comm=mb next_pid=13400", lines[1186]);
        lines.RemoveRange(1176, 6); // csd_queue_cpu, ipi_send_cpu, call_function_single_entry, csd entry and exit, _exit
        return lines;
    }

    [Fact]
    public void A_switch_between_two_threads_of_the_callers_process_right_after_the_return_decides_P_PE()
    {
        TraceChecker clean = Check("mb-3t.trace");
        Assert.Equal(0, clean.Properties["P-PE"].Violated);
        TraceChecker flagged = Check("mb-3t.trace", SameMmSwitchWithoutIpiMb);
        Violation v = Assert.Single(flagged.Properties["P-PE"].Violations);
        Assert.StartsWith("line 1176: membarrier(PRIVATE_EXPEDITED) on CPU 0 returned at line 1177, but CPU 1", v.Message);
        Assert.Contains("switching at line 1181 to task 13400, which needs it too", v.Message);
    }

    [Fact]
    public void GLOBAL_EXPEDITED_skipping_a_cpu_whose_copy_exit_mm_cleared_is_B21_on_this_kernel()
    {
        // Recorded on this machine: thread 17653 of the registered process exits on CPU 0 (line 9971),
        // which then runs only threads of the same mm; the GLOBAL_EXPEDITED from CPU 1 at line 10067
        // sends no ipi_mb though CPU 0 runs thread 17492 throughout: a kernel bug (docs/bugs/B21.md).
        SortedDictionary<string, PropertyTally> checker = ReplayFiles.Checked("b21-exit-global.trace");
        Violation v = Assert.Single(checker["P-GE"].Violations);
        Assert.StartsWith("line 10067: membarrier(GLOBAL_EXPEDITED) on CPU 1 returned at line 10068, but CPU 0", v.Message);
        Assert.Contains("thread 17653 of that process exited on CPU 0 at line 9971", v.Message);
        Assert.Contains("Twin's B21", v.Message);
        Assert.All(checker.Where(p => p.Key != "P-GE"), p => Assert.Equal(0, p.Value.Violated));
    }

    [Fact]
    public void Dropping_an_ipi_mb_on_a_cpu_running_the_callers_process_is_a_P_PE_violation()
    {
        TraceChecker checker = Check("mb-3t.trace", lines =>
        {
            (int _, int callback, int _) = CallbacksInCalls(lines, "8", "ipi_mb")[10];
            lines.RemoveAt(callback);
            return lines;
        });
        Assert.Equal(1, checker.Properties["P-PE"].Violated);
        Assert.Contains("ran no ipi_mb callback", checker.Properties["P-PE"].Violations[0].Message);
    }

    [Fact]
    public void Dropping_an_ipi_sync_core_is_a_P_SC_violation()
    {
        TraceChecker checker = Check("mb-3t.trace", lines =>
        {
            (int _, int callback, int _) = CallbacksInCalls(lines, "0x20", "ipi_sync_core")[5];
            lines.RemoveAt(callback);
            return lines;
        });
        Assert.Equal(1, checker.Properties["P-SC"].Violated);
        Assert.Equal(0, checker.Properties["P-PE"].Violated);
    }

    [Fact]
    public void An_ipi_mb_that_runs_after_the_call_returned_is_a_P_PE_violation()
    {
        TraceChecker checker = Check("mb-3t.trace", lines =>
        {
            (int _, int callback, int exit) = CallbacksInCalls(lines, "8", "ipi_mb")[20];
            string moved = lines[callback];
            lines.Insert(exit + 1, moved);
            lines.RemoveAt(callback);
            return lines;
        });
        Assert.True(checker.Properties["P-PE"].Violated >= 1);
    }

    [Fact]
    public void Dropping_an_ipi_mb_of_GLOBAL_EXPEDITED_is_a_P_GE_violation()
    {
        TraceChecker checker = Check("mix-2t-global.trace", lines =>
        {
            (int _, int callback, int _) = CallbacksInCalls(lines, "2", "ipi_mb")[3];
            lines.RemoveAt(callback);
            return lines;
        });
        Assert.Equal(1, checker.Properties["P-GE"].Violated);
    }

    [Fact]
    public void A_PRIVATE_EXPEDITED_that_succeeds_before_registration_is_an_E_RET_violation()
    {
        TraceChecker clean = Check("mb-3t.trace");
        Assert.Equal(0, clean.Properties["E-RET"].Violated);
        TraceChecker checker = Check("mb-3t.trace", lines =>
        {
            int eperm = lines.FindIndex(l => l.Contains("sys_membarrier -> 0xffffffffffffffff", StringComparison.Ordinal));
            lines[eperm] = lines[eperm].Replace("0xffffffffffffffff", "0x0", StringComparison.Ordinal);
            return lines;
        });
        Assert.Equal(1, checker.Properties["E-RET"].Violated);
        Assert.Contains("sys_membarrier's checks give -1", checker.Properties["E-RET"].Violations[0].Message);
    }
}
