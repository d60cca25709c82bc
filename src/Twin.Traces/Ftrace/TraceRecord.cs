namespace Twin.Traces.Ftrace;

/// <summary>The trace events the importer understands (docs/trace-import.md); anything else is <see cref="Other"/>.</summary>
public enum TraceEventKind : byte
{
    Other,
    SchedSwitch,
    SchedWakeup,
    SchedWakeupNew,
    SchedWaking,
    SchedMigrateTask,
    SchedProcessFork,
    SchedProcessExec,
    SchedProcessExit,
    TlbFlush,
    IpiSendCpu,
    IpiSendCpumask,
    CsdQueueCpu,
    CsdFunctionEntry,
    CsdFunctionExit,
    /// <summary>x86 irq_vectors <c>*_entry</c> (call_function, call_function_single, reschedule, ...).</summary>
    IrqVectorEntry,
    IrqVectorExit,
    SysEnterMembarrier,
    SysExitMembarrier,
    /// <summary>Another syscall, printed without an event name (<c>sys_x(...)</c>, <c>sys_x -> 0x..</c>).</summary>
    OtherSyscall,
    /// <summary><c>CPU:n [LOST m EVENTS]</c>: not an event of the kernel, but where the trace is blind (Cpu, and Ret = m).</summary>
    Lost,
}

/// <summary>The IPI callback a <c>csd_*</c> event names (kernel/sched/membarrier.c, arch/x86/mm/tlb.c, arch/x86/kernel/alternative.c).</summary>
public enum CsdFunc : byte
{
    Other,
    FlushTlbFunc,
    IpiMb,
    IpiSyncCore,
    IpiRseq,
    IpiSyncRqState,
    /// <summary>x86 <c>mm_enable_lam()</c>'s cross-call.</summary>
    EnableLamFunc,
    /// <summary>x86 text_poke's <c>on_each_cpu(do_sync_core, NULL, 1)</c>.</summary>
    DoSyncCore,
}

/// <summary>Where a line was logged, from its irq-info flags (trace_print_lat_fmt: the third character).</summary>
public enum TraceContext : byte
{
    /// <summary>The layout has no flags column (trace-cmd report, perf script).</summary>
    Unknown,
    Task,
    Softirq,
    Hardirq,
    Nmi,
}

/// <summary>The kernel's names of the IPI callbacks.</summary>
public static class CsdFuncNames
{
    public static string Of(CsdFunc f) => f switch
    {
        CsdFunc.FlushTlbFunc => "flush_tlb_func",
        CsdFunc.IpiMb => "ipi_mb",
        CsdFunc.IpiSyncCore => "ipi_sync_core",
        CsdFunc.IpiRseq => "ipi_rseq",
        CsdFunc.IpiSyncRqState => "ipi_sync_rq_state",
        CsdFunc.EnableLamFunc => "enable_lam_func",
        CsdFunc.DoSyncCore => "do_sync_core",
        _ => "other",
    };
}

/// <summary>
/// One parsed trace line. A value type reused by the reader, so parsing allocates nothing per
/// line; which fields mean something depends on <see cref="Kind"/>.
/// </summary>
public struct TraceRecord
{
    public long Line;
    public int Pid;
    /// <summary>From the TGID column; -1 when absent or <c>(-------)</c>.</summary>
    public int Tgid;
    public int Cpu;
    public long TimeNs;
    public TraceEventKind Kind;
    /// <summary>From the irq-info flags; <see cref="TraceContext.Unknown"/> when the layout has none.</summary>
    public TraceContext Context;
    /// <summary>The flags' first character is <c>d</c> or <c>D</c> (meaningful when <see cref="Context"/> is known).</summary>
    public bool IrqsOff;
    /// <summary>The line's task is a CPU's stopper thread (comm <c>migration/N</c>, kernel/stop_machine.c's cpu_stopper_thread).</summary>
    public bool Stopper;

    /// <summary>sched_switch: prev; wakeup/migrate/exit/fork parent/exec: the task.</summary>
    public int Task;
    /// <summary>sched_switch: next; fork: child; exec: old_pid.</summary>
    public int Other;
    /// <summary>sched_switch prev_state: 0 running (R, R+), else the task blocked.</summary>
    public int PrevState;
    /// <summary>wakeup: target_cpu; migrate: dest_cpu; ipi_send_cpu / csd_queue_cpu: cpu.</summary>
    public int TargetCpu;
    /// <summary>ipi_send_cpumask: the CPUs (up to 64; wider masks set <see cref="MaskWide"/>).</summary>
    public ulong Mask;
    public bool MaskWide;
    public CsdFunc Func;
    /// <summary>csd_*: the csd's address as printed (ftrace hashes it, trace-cmd prints it); 0 for <c>(nil)</c>: run locally.</summary>
    public ulong Csd;
    /// <summary>irq vector number, e.g. 251 call_function_single.</summary>
    public int Vector;
    /// <summary>membarrier entry.</summary>
    public int Cmd, Flags, CpuId;
    /// <summary>membarrier exit: the return value (-errno on error).</summary>
    public long Ret;
    /// <summary>tlb_flush: pages (-1 = TLB_FLUSH_ALL) and reason number.</summary>
    public long Pages;
    public int Reason;
}
