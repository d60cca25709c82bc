using Twin.Checking;
using Twin.Traces.Ftrace;
using Twin.Traces.Replay;

namespace Twin.Traces.Tests;

/// <summary>
/// The cross-call protocol (CSD-1 to CSD-3) on the real recordings, rebuilt into the model's
/// events, and on copies mutated the way a broken kernel would behave.
/// </summary>
public sealed class CrossCallTests
{
    private static SortedDictionary<string, PropertyTally> Check(string name, Func<List<string>, List<string>>? mutate = null) => ReplayFiles.Checked(name, mutate);

    private static string Pid(string line) => line.Trim().Split(' ')[0];

    private static string Cpu(string line) => System.Text.RegularExpressions.Regex.Match(line, @"\[\d{3}\]").Value;

    /// <summary>
    /// Calls of <paramref name="cmd"/> that returned 0 and whose callback <paramref name="func"/>
    /// ran on the other CPU, which ran a thread of the caller's process (the same TGID) from the
    /// call's entry to its return without switching: (entry, queue, handler entry, exit) line indexes.
    /// </summary>
    private static List<(int Enter, int Queue, int Handler, int Exit)> Calls(List<string> lines, string cmd, string func)
    {
        var found = new List<(int, int, int, int)>();
        for (int i = 0; i < lines.Count; i++)
        {
            if (!lines[i].Contains($"sys_membarrier(cmd: {cmd},", StringComparison.Ordinal)) continue;
            string pid = Pid(lines[i]);
            int exit = lines.FindIndex(i + 1, l => Pid(l) == pid && l.Contains("sys_membarrier -> 0x0", StringComparison.Ordinal));
            if (exit < 0) continue;
            int queue = lines.FindIndex(i, exit - i, l => Pid(l) == pid && l.Contains($"func={func} ", StringComparison.Ordinal) && l.Contains("csd_queue_cpu", StringComparison.Ordinal));
            int handler = lines.FindIndex(i, exit - i, l => l.Contains($"csd_function_entry: func={func}, csd=", StringComparison.Ordinal) && !l.Contains("csd=0000000000000000", StringComparison.Ordinal));
            if (queue < 0 || handler < 0) continue;
            string target = Cpu(lines[handler]);
            bool switched = lines.Skip(i).Take(exit - i).Any(l => Cpu(l) == target && l.Contains("sched_switch", StringComparison.Ordinal));
            string tgid = lines[i][lines[i].IndexOf('(')..(lines[i].IndexOf(')') + 1)];
            if (!switched && lines[handler].Contains(tgid, StringComparison.Ordinal)) found.Add((i, queue, handler, exit));
        }
        return found;
    }

    [Theory]
    [InlineData("mb-3t.trace")]
    [InlineData("mb-3t-twin.trace")]
    [InlineData("mix-2t-global.trace")]
    [InlineData("rseq-2t.trace")]
    public void A_correct_kernel_keeps_the_cross_call_protocol(string name)
    {
        SortedDictionary<string, PropertyTally> p = Check(name);
        foreach (string id in (string[])["CSD-1", "CSD-2", "CSD-3"])
        {
            Assert.True(p[id].Violated == 0, $"{id}: {p[id].Violations.FirstOrDefault()?.Message}");
            Assert.True(p[id].Checked > 50, $"{id} checked {p[id].Checked}");
        }
    }

    [Fact]
    public void An_ipi_mb_handler_removed_with_its_ipi_sent_breaks_CSD_1_and_P_PE()
    {
        SortedDictionary<string, PropertyTally> p = Check("mb-3t-twin.trace", lines =>
        {
            (_, _, int handler, _) = Calls(lines, "8", "ipi_mb")[10];
            lines.RemoveRange(handler, 2); // csd_function_entry and _exit
            return lines;
        });
        Assert.Equal(1, p["CSD-1"].Violated);
        Assert.Contains("had not run it", p["CSD-1"].Violations[0].Message);
        Assert.Equal(1, p["P-PE"].Violated);
        Assert.Equal(0, p["CSD-2"].Violated);
    }

    [Fact]
    public void An_ipi_mb_handler_removed_with_the_ipi_that_sent_it_breaks_P_PE_only()
    {
        SortedDictionary<string, PropertyTally> p = Check("mb-3t-twin.trace", lines =>
        {
            (_, int queue, int handler, _) = Calls(lines, "8", "ipi_mb")[10];
            lines.RemoveRange(handler - 1, 4); // call_function_single_entry, csd entry, csd exit, _exit
            lines.RemoveRange(queue, 2);       // csd_queue_cpu, ipi_send_cpu
            return lines;
        });
        Assert.Equal(1, p["P-PE"].Violated);
        Assert.Equal(0, p["CSD-1"].Violated);
    }

    [Fact]
    public void An_ipi_sync_core_handler_removed_breaks_CSD_1_and_P_SC()
    {
        SortedDictionary<string, PropertyTally> p = Check("mb-3t-twin.trace", lines =>
        {
            (_, _, int handler, _) = Calls(lines, "0x20", "ipi_sync_core")[5];
            lines.RemoveRange(handler, 2);
            return lines;
        });
        Assert.Equal(1, p["CSD-1"].Violated);
        Assert.Equal(1, p["P-SC"].Violated);
    }

    [Fact]
    public void An_ipi_sync_core_handler_removed_with_the_ipi_that_sent_it_breaks_P_SC_only()
    {
        SortedDictionary<string, PropertyTally> p = Check("jit-1t.trace", lines =>
        {
            (_, int queue, int handler, _) = Calls(lines, "0x20", "ipi_sync_core")[50];
            Assert.Contains("call_function_single_entry", lines[handler - 1]);
            lines.RemoveRange(handler - 1, 4); // call_function_single_entry, csd entry, csd exit, _exit
            lines.RemoveRange(queue, 2);       // csd_queue_cpu, ipi_send_cpu
            return lines;
        });
        Assert.Equal(1, p["P-SC"].Violated);
        Assert.Contains("ran no ipi_sync_core callback", p["P-SC"].Violations[0].Message);
        Assert.Equal(0, p["CSD-1"].Violated);
    }

    [Fact]
    public void A_handler_moved_after_the_return_breaks_CSD_1()
    {
        SortedDictionary<string, PropertyTally> p = Check("mb-3t-twin.trace", lines =>
        {
            (_, _, int handler, int exit) = Calls(lines, "8", "ipi_mb")[20];
            // The handler's two lines, 5 µs after the return: the call did not wait for it.
            string at = Stamp(lines[exit]);
            long us = long.Parse(at[..at.IndexOf('.')], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000
                + long.Parse(at[(at.IndexOf('.') + 1)..^1], System.Globalization.CultureInfo.InvariantCulture) + 5;
            string later = $"{us / 1_000_000}.{us % 1_000_000:D6}:";
            lines.InsertRange(exit + 1, lines.GetRange(handler, 2).Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\d+\.\d{6}:", later)));
            lines.RemoveRange(handler, 2);
            return lines;
        });
        Assert.True(p["CSD-1"].Violated >= 1, "CSD-1 not violated");
        Assert.True(p["P-PE"].Violated >= 1, "P-PE not violated");
    }

    private static string Stamp(string line) => System.Text.RegularExpressions.Regex.Match(line, @"\d+\.\d{6}:").Value;

    [Fact]
    public void A_handler_run_twice_breaks_CSD_2_and_one_in_task_context_with_irqs_on_breaks_CSD_3()
    {
        SortedDictionary<string, PropertyTally> twice = Check("mb-3t-twin.trace", lines =>
        {
            (_, _, int handler, _) = Calls(lines, "8", "ipi_mb")[10];
            lines.InsertRange(handler + 2, [lines[handler], lines[handler + 1]]);
            return lines;
        });
        Assert.Equal(1, twice["CSD-2"].Violated);
        Assert.Contains("not queued since it last ran", twice["CSD-2"].Violations[0].Message);

        SortedDictionary<string, PropertyTally> context = Check("mb-3t-twin.trace", lines =>
        {
            (_, _, int handler, _) = Calls(lines, "8", "ipi_mb")[10];
            lines[handler] = System.Text.RegularExpressions.Regex.Replace(lines[handler], @"\] d\.h\S* ", "] ..... ");
            return lines;
        });
        Assert.Equal(1, context["CSD-3"].Violated);
        Assert.Contains("in Task context with IRQs on", context["CSD-3"].Violations[0].Message);
    }

    [Fact]
    public void A_csd_the_stopper_flushes_before_its_IPI_arrives_keeps_CSD_3_and_another_kernel_thread_does_not()
    {
        // Recorded on this machine (b21-exit-global): CPU 1 queues flush_tlb_func for CPU 0 (line 4937)
        // as CPU 0 switches to its stopper; migration/0 runs it in task context with IRQs off (line 4942),
        // migration_cpu_stop()'s flush_smp_call_function_queue(), before the IPI arrives (line 4948, empty).
        const string name = "b21-exit-global.trace";
        List<string> lines = [.. File.ReadAllLines(ReplayFiles.Path(name))];
        Assert.Contains("migration/0-18      (     18) [000] d..1.  9962.753226: csd_function_entry: func=flush_tlb_func, csd=000000001453344e", lines[4941]);
        Assert.Contains("call_function_single_entry", lines[4947]);
        SortedDictionary<string, PropertyTally> clean = Check(name);
        Assert.Equal(0, clean["CSD-3"].Violated);
        Assert.Equal(0, clean["CSD-2"].Violated);

        // The same run from a kworker, or from the stopper with IRQs on, is no path of the kernel's.
        SortedDictionary<string, PropertyTally> kworker = Check(name, l =>
        {
            l[4941] = l[4941].Replace("     migration/0-18      (     18)", "     kworker/0:1-77      (     77)", StringComparison.Ordinal);
            return l;
        });
        Assert.Equal(1, kworker["CSD-3"].Violated);
        Assert.Contains("CPU 0 ran the queued flush_tlb_func from CPU 1 in Task context", kworker["CSD-3"].Violations[0].Message);
        SortedDictionary<string, PropertyTally> irqsOn = Check(name, l =>
        {
            l[4941] = l[4941].Replace("[000] d..1.", "[000] ...1.", StringComparison.Ordinal);
            return l;
        });
        Assert.Equal(1, irqsOn["CSD-3"].Violated);
        Assert.Contains("with IRQs on", irqsOn["CSD-3"].Violations[0].Message);
    }

    [Fact]
    public void Lost_events_make_the_window_undecidable_never_a_violation()
    {
        SortedDictionary<string, PropertyTally> p = Check("mb-3t-twin.trace", lines =>
        {
            (_, _, int handler, _) = Calls(lines, "8", "ipi_mb")[10];
            string cpu = Cpu(lines[handler]);
            lines.RemoveRange(handler, 2);
            lines.Insert(handler, $"CPU:{int.Parse(cpu[1..^1], System.Globalization.CultureInfo.InvariantCulture)} [LOST 12 EVENTS]");
            return lines;
        });
        Assert.Equal(0, p["CSD-1"].Violated);
        Assert.Equal(0, p["P-PE"].Violated);
        Assert.Equal(1, p["CSD-1"].UndecidableReasons[Twin.Checking.Monitors.CrossCallMonitor.LostEvents]);
        Assert.Equal(1, p["P-PE"].UndecidableReasons[TraceChecker.LostEvents]);
    }

    [Fact]
    public void A_handler_removed_on_a_target_that_switched_inside_the_call_is_undecidable_and_says_why()
    {
        SortedDictionary<string, PropertyTally> clean = Check("mb-3t-twin.trace");
        SortedDictionary<string, PropertyTally> p = Check("mb-3t-twin.trace", lines =>
        {
            (_, int queue, int handler, _) = Calls(lines, "8", "ipi_mb")[10];
            string line = lines[handler];
            string target = Cpu(line);
            string who = line[..line.IndexOf('[')];
            string pidText = Pid(line);
            string pid = pidText[(pidText.LastIndexOf('-') + 1)..];
            string at = Stamp(line);
            lines.RemoveRange(handler - 1, 4);
            lines.RemoveRange(queue, 2);
            // The target switches to a kernel worker and back inside the call: when membarrier read its rq->curr is not in the trace.
            lines.Insert(queue, $"{who}{target} d..2. {at[..^1]}: sched_switch: prev_comm=mb prev_pid={pid} prev_prio=120 prev_state=R ==> next_comm=kworker/1:1 next_pid=77 next_prio=120");
            return lines;
        });
        Assert.Equal(0, p["P-PE"].Violated);
        Assert.True(p["P-PE"].UndecidableReasons.GetValueOrDefault(TraceChecker.SwitchedInside) > clean["P-PE"].UndecidableReasons.GetValueOrDefault(TraceChecker.SwitchedInside));
    }
}
