using Twin.Checking;
using Twin.Checking.Monitors;
using Twin.Traces.Ftrace;
using Twin.Traces.Replay;

namespace Twin.Traces.Tests;

/// <summary>P-REG, TLB-1 and LAZY-1 where a real trace decides them, on the recordings and on mutated copies.</summary>
public sealed class TraceTlbTests
{
    private static SortedDictionary<string, PropertyTally> Check(string name, Func<List<string>, List<string>>? mutate = null) => ReplayFiles.Checked(name, mutate);

    /// <summary>Index of the line holding <paramref name="text"/>, checked so a re-recording cannot silently move the mutation elsewhere.</summary>
    private static int At(List<string> lines, int line, string text)
    {
        Assert.Contains(text, lines[line - 1]);
        return line - 1;
    }

    [Theory]
    [InlineData("mb-3t-twin.trace")]
    [InlineData("mix-2t-global.trace")]
    public void A_correct_kernel_keeps_TLB_1_where_the_trace_decides_it(string name)
    {
        SortedDictionary<string, PropertyTally> p = Check(name);
        Assert.Equal(0, p["TLB-1"].Violated);
        Assert.True(p["TLB-1"].Checked > 200, $"TLB-1 checked {p["TLB-1"].Checked}");
        Assert.Equal(0, p["LAZY-1"].Checked);
        Assert.Equal(p["LAZY-1"].Undecidable, p["LAZY-1"].UndecidableReasons[TraceTlbMonitor.BarrierNotTraced]);
    }

    [Fact]
    public void The_first_registration_without_its_ipi_sync_rq_state_on_a_cpu_running_the_process_breaks_P_REG()
    {
        // jit-1t: the reader thread spins at SCHED_FIFO on CPU 1 through REGISTER_..._SYNC_CORE (line 74),
        // so the registration must reach it with ipi_sync_rq_state (line 119); the clean recording checks it.
        Assert.Equal((1L, 0L), (Check("jit-1t.trace")["P-REG"].Checked, Check("jit-1t.trace")["P-REG"].Violated));
        SortedDictionary<string, PropertyTally> p = Check("jit-1t.trace", lines =>
        {
            int entry = At(lines, 119, "jit-20868   (  20867) [001] d.h..  3052.030487: csd_function_entry: func=ipi_sync_rq_state");
            lines.RemoveRange(entry, 2);
            return lines;
        });
        Assert.Equal(1, p["P-REG"].Violated);
        Assert.Contains("ran no ipi_sync_rq_state callback", p["P-REG"].Violations[0].Message);
        Assert.Equal(1, p["CSD-1"].Violated);
    }

    [Fact]
    public void A_shootdown_that_returns_before_a_cpu_running_the_mm_flushed_breaks_TLB_1()
    {
        SortedDictionary<string, PropertyTally> p = Check("mb-3t-twin.trace", lines =>
        {
            // The mprotect flush of line 425 from CPU 1: CPU 0 runs thread 9853 of the same mm; its handler goes.
            int flushed = At(lines, 432, "reason:remote shootdown (1)");
            lines.RemoveRange(flushed - 1, 3); // csd_function_entry, tlb_flush, csd_function_exit
            return lines;
        });
        Assert.Equal(1, p["TLB-1"].Violated);
        Assert.Contains("ran no flush_tlb_func", p["TLB-1"].Violations[0].Message);
        Assert.Equal(1, p["CSD-1"].Violated);
    }

    [Fact]
    public void A_cpu_no_flush_tlb_func_was_queued_for_is_undecidable_and_one_queued_for_is_checked()
    {
        // Recorded by the CLI test on this machine, a PVM guest ("pvm-pv: remote TLB flushes via
        // PVM_HC_FLUSH_TLB_MULTI"): the test host's main thread flushes 2 pages on CPU 1 (line 20,
        // "remote IPI send") and runs only its local flush_tlb_func, while CPU 0 runs the host's
        // tiered-compilation thread throughout; no csd_queue_cpu for CPU 0. The paravirt
        // flush_tlb_multi() had the hypervisor flush CPU 0, which left CPU 0's tlb_gen behind: its
        // own next flush (line 29) is a full one where 2 pages were asked.
        const string name = "true-flush-no-ipi.trace";
        List<string> lines = [.. File.ReadAllLines(ReplayFiles.Path(name))];
        int send = At(lines, 20, "dotnet-31299   (  31299) [001] ...2. 15059.898699: tlb_flush: pages:2 reason:remote IPI send (4)");
        At(lines, 27, "[000] ...2. 15059.899251: tlb_flush: pages:2 reason:remote IPI send (4)");
        At(lines, 29, "[000] d..3. 15059.899269: tlb_flush: pages:-1 reason:local MM shootdown (3)");
        SortedDictionary<string, PropertyTally> clean = Check(name);
        Assert.Equal(0, clean["TLB-1"].Violated);
        Assert.Equal(1, clean["TLB-1"].UndecidableReasons[TraceTlbMonitor.NotQueued]);

        // Had the kernel queued flush_tlb_func for CPU 0, the flush could not return (line 25, after
        // the inserted line) before CPU 0 ran it: smp_call_function_many_cond() waits for its csds.
        SortedDictionary<string, PropertyTally> flagged = Check(name, l =>
        {
            l.Insert(send + 1, "          dotnet-31299   (  31299) [001] ...2. 15059.898699: csd_queue_cpu: cpu=0 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=00000000314ab26a");
            return l;
        });
        Violation v = Assert.Single(flagged["TLB-1"].Violations);
        Assert.Contains("ran no flush_tlb_func though one was queued for it", v.Message);
        Assert.Equal((0, 20L, 25L), (v.Cpu, v.WindowStart, v.EventIndex));
        Assert.False(flagged["TLB-1"].UndecidableReasons.ContainsKey(TraceTlbMonitor.NotQueued));
    }

    [Fact]
    public void An_unlazy_without_a_cr3_write_after_the_mm_was_flushed_breaks_TLB_1()
    {
        SortedDictionary<string, PropertyTally> p = Check("mix-2t-global.trace", lines =>
        {
            // CPU 0 comes back from idle to thread 12731 after CPU 1's flushes: switch_mm_irqs_off had to
            // write CR3 (line 612). Without that write the CPU runs the mm with a stale TLB.
            int cr3 = At(lines, 612, "[000] d..2.   293.033254: tlb_flush: pages:-1 reason:flush on task switch (0)");
            lines.RemoveAt(cr3);
            return lines;
        });
        Violation v = Assert.Single(p["TLB-1"].Violations);
        Assert.Contains("unlazied into mm", v.Message);
        Assert.Equal(0, v.Cpu);
    }
}
