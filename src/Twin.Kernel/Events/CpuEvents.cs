using Twin.Persistence.Codec;
using static Twin.Kernel.Events.EventEnums;

namespace Twin.Kernel.Events;

// Events of "cpu-N" streams: runqueue, x86 cpu_tlbstate, mode, barriers, membarrier calls. Codes 10–29, 50–59.
// Layout: each field in order, ints and longs as zigzag varints, enums as a byte.

/// <summary>The CPU came online running its idle task, with <c>init_mm</c> loaded.</summary>
public readonly record struct CpuBooted(int Cpu) : IJournaledEvent<CpuBooted>
{
    public static EventManifest Manifest { get; } = new(10, 1, nameof(CpuBooted));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
    }

    public static CpuBooted Read(ref PayloadReader r) => new(r.ReadInt32());
}

/// <summary>A woken or new task was put on this CPU's runqueue (<c>activate_task</c>).</summary>
public readonly record struct TaskEnqueued(int Cpu, int Task) : IJournaledEvent<TaskEnqueued>
{
    public static EventManifest Manifest { get; } = new(11, 1, nameof(TaskEnqueued));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
    }

    public static TaskEnqueued Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        return new(cpu_, task_);
    }
}

/// <summary><c>__schedule()</c> stored <c>rq->curr = next</c> (the sched_switch tracepoint). <paramref
/// name="PrevMm"/> is the mm that becomes <c>rq->prev_mm</c> (kernel → user: the mm the outgoing
/// kthread borrowed), or 0.</summary>
public readonly record struct SchedSwitched(int Cpu, int Prev, int Next, PrevState PrevState, int PrevMm) : IJournaledEvent<SchedSwitched>
{
    public static EventManifest Manifest { get; } = new(12, 2, nameof(SchedSwitched));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Prev);
        w.WriteVarInt(Next);
        w.WriteByte((byte)PrevState);
        w.WriteVarInt(PrevMm);
    }

    public static SchedSwitched Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var prev_ = r.ReadInt32();
        var next_ = r.ReadInt32();
        var prevState_ = ReadEnum<PrevState>(ref r, (byte)PrevState.Sleeping, "PrevState");
        var prevMm_ = r.ReadInt32();
        return new(cpu_, prev_, next_, prevState_, prevMm_);
    }
}

/// <summary><c>enter_lazy_tlb(active_mm)</c>: a kernel thread borrows <paramref name="Mm"/>;
/// <c>is_lazy</c> is set unless <c>init_mm</c> is loaded (kernel-model §2.1, §2.3).</summary>
public readonly record struct LazyTlbEntered(int Cpu, int Mm) : IJournaledEvent<LazyTlbEntered>
{
    public static EventManifest Manifest { get; } = new(13, 1, nameof(LazyTlbEntered));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Mm);
    }

    public static LazyTlbEntered Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        return new(cpu_, mm_);
    }
}

/// <summary>End of <c>switch_mm_irqs_off(prev, next)</c>: <c>loaded_mm = next</c>, the CPU caught up to
/// <paramref name="TlbGen"/>. <paramref name="Cr3Written"/> is false on the same-mm unlazy path that
/// returns with tlb_gen current (no CR3 write, so no core serialization from it).</summary>
public readonly record struct MmSwitched(int Cpu, int Prev, int Next, bool Cr3Written, bool WasLazy, long TlbGen) : IJournaledEvent<MmSwitched>
{
    public static EventManifest Manifest { get; } = new(14, 2, nameof(MmSwitched));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Prev);
        w.WriteVarInt(Next);
        w.WriteBool(Cr3Written);
        w.WriteBool(WasLazy);
        w.WriteVarInt(TlbGen);
    }

    public static MmSwitched Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var prev_ = r.ReadInt32();
        var next_ = r.ReadInt32();
        var cr3Written_ = r.ReadBool();
        var wasLazy_ = r.ReadBool();
        var tlbGen_ = r.ReadVarInt();
        return new(cpu_, prev_, next_, cr3Written_, wasLazy_, tlbGen_);
    }
}

/// <summary>First half of <c>switch_mm_irqs_off()</c> to another mm: <c>loaded_mm =
/// LOADED_MM_SWITCHING</c>, CPU set in <c>mm_cpumask(next)</c>, <c>next->context.tlb_gen</c> read.
/// Until <see cref="MmSwitched"/>, <c>should_flush_tlb()</c> sees the switching sentinel
/// (B12).</summary>
public readonly record struct MmSwitchBegan(int Cpu, int Next, long NextTlbGen) : IJournaledEvent<MmSwitchBegan>
{
    public static EventManifest Manifest { get; } = new(15, 1, nameof(MmSwitchBegan));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Next);
        w.WriteVarInt(NextTlbGen);
    }

    public static MmSwitchBegan Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var next_ = r.ReadInt32();
        var nextTlbGen_ = r.ReadVarInt();
        return new(cpu_, next_, nextTlbGen_);
    }
}

/// <summary><c>flush_tlb_func()</c> caught this CPU up to <paramref name="TlbGen"/> of the loaded
/// mm.</summary>
public readonly record struct TlbFlushed(int Cpu, int Mm, long TlbGen, bool Full) : IJournaledEvent<TlbFlushed>
{
    public static EventManifest Manifest { get; } = new(16, 1, nameof(TlbFlushed));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Mm);
        w.WriteVarInt(TlbGen);
        w.WriteBool(Full);
    }

    public static TlbFlushed Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var tlbGen_ = r.ReadVarInt();
        var full_ = r.ReadBool();
        return new(cpu_, mm_, tlbGen_, full_);
    }
}

/// <summary>The CPU left user mode for the kernel.</summary>
public readonly record struct KernelEntered(int Cpu, int Task, EntryReason Reason) : IJournaledEvent<KernelEntered>
{
    public static EventManifest Manifest { get; } = new(17, 1, nameof(KernelEntered));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteByte((byte)Reason);
    }

    public static KernelEntered Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var reason_ = ReadEnum<EntryReason>(ref r, (byte)EntryReason.Interrupt, "Reason");
        return new(cpu_, task_, reason_);
    }
}

/// <summary>The CPU returned to user mode in <paramref name="Task"/>; whether that serializes depends
/// on the path and the architecture (§2.6).</summary>
public readonly record struct ReturnedToUser(int Cpu, int Task, ReturnPath Path) : IJournaledEvent<ReturnedToUser>
{
    public static EventManifest Manifest { get; } = new(18, 1, nameof(ReturnedToUser));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteByte((byte)Path);
    }

    public static ReturnedToUser Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var path_ = ReadEnum<ReturnPath>(ref r, (byte)ReturnPath.Sret, "Path");
        return new(cpu_, task_, path_);
    }
}

/// <summary>A full memory barrier executed on the CPU.</summary>
public readonly record struct FullBarrier(int Cpu, BarrierReason Reason) : IJournaledEvent<FullBarrier>
{
    public static EventManifest Manifest { get; } = new(19, 1, nameof(FullBarrier));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteByte((byte)Reason);
    }

    public static FullBarrier Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var reason_ = ReadEnum<BarrierReason>(ref r, (byte)BarrierReason.UnlazyTlbGen, "Reason");
        return new(cpu_, reason_);
    }
}

/// <summary>A core-serializing event on the CPU: instructions fetched later see all earlier stores to
/// code.</summary>
public readonly record struct CoreSerialized(int Cpu, CoreSerializeReason Reason) : IJournaledEvent<CoreSerialized>
{
    public static EventManifest Manifest { get; } = new(20, 1, nameof(CoreSerialized));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteByte((byte)Reason);
    }

    public static CoreSerialized Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var reason_ = ReadEnum<CoreSerializeReason>(ref r, (byte)CoreSerializeReason.CpuBoot, "Reason");
        return new(cpu_, reason_);
    }
}

/// <summary><c>rq->membarrier_state</c> was written.</summary>
public readonly record struct RqMembarrierStateSet(int Cpu, int State, RqStateReason Reason) : IJournaledEvent<RqMembarrierStateSet>
{
    public static EventManifest Manifest { get; } = new(21, 1, nameof(RqMembarrierStateSet));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(State);
        w.WriteByte((byte)Reason);
    }

    public static RqMembarrierStateSet Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var state_ = r.ReadInt32();
        var reason_ = ReadEnum<RqStateReason>(ref r, (byte)RqStateReason.RegisterLocal, "Reason");
        return new(cpu_, state_, reason_);
    }
}

/// <summary>An IPI handler ran on the CPU in hardirq context (<paramref name="Ipi"/> 0: run locally by
/// on_each_cpu_mask / smp_call_function_single).</summary>
public readonly record struct IpiHandled(int Cpu, long Ipi, IpiKind Kind, int From) : IJournaledEvent<IpiHandled>
{
    public static EventManifest Manifest { get; } = new(22, 1, nameof(IpiHandled));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Ipi);
        w.WriteByte((byte)Kind);
        w.WriteVarInt(From);
    }

    public static IpiHandled Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var ipi_ = r.ReadVarInt();
        var kind_ = ReadEnum<IpiKind>(ref r, (byte)IpiKind.TextPokeSync, "Kind");
        var from_ = r.ReadInt32();
        return new(cpu_, ipi_, kind_, from_);
    }
}

/// <summary>A user-mode store to code of <paramref name="Mm"/> (cross-modifying code, before membarrier
/// SYNC_CORE).</summary>
public readonly record struct CodeWritten(int Cpu, int Task, int Mm) : IJournaledEvent<CodeWritten>
{
    public static EventManifest Manifest { get; } = new(23, 1, nameof(CodeWritten));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Mm);
    }

    public static CodeWritten Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        return new(cpu_, task_, mm_);
    }
}

/// <summary>The task's rseq critical section was aborted: by <c>ipi_rseq</c> or by preemption
/// (<c>rseq_preempt</c>).</summary>
public readonly record struct RseqAborted(int Cpu, int Task, bool ByIpi) : IJournaledEvent<RseqAborted>
{
    public static EventManifest Manifest { get; } = new(24, 1, nameof(RseqAborted));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteBool(ByIpi);
    }

    public static RseqAborted Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var byIpi_ = r.ReadBool();
        return new(cpu_, task_, byIpi_);
    }
}

/// <summary>The task entered an rseq critical section in user mode.</summary>
public readonly record struct RseqCsEntered(int Cpu, int Task) : IJournaledEvent<RseqCsEntered>
{
    public static EventManifest Manifest { get; } = new(25, 1, nameof(RseqCsEntered));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
    }

    public static RseqCsEntered Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        return new(cpu_, task_);
    }
}

/// <summary>The task completed its rseq critical section (the commit store) without abort.</summary>
public readonly record struct RseqCsCommitted(int Cpu, int Task) : IJournaledEvent<RseqCsCommitted>
{
    public static EventManifest Manifest { get; } = new(26, 1, nameof(RseqCsCommitted));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
    }

    public static RseqCsCommitted Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        return new(cpu_, task_);
    }
}

/// <summary><c>flush_tlb_mm_range()</c> incremented the mm's tlb_gen to <paramref name="TlbGen"/> and
/// starts flushing.</summary>
public readonly record struct TlbShootdownStarted(int Cpu, int Mm, long TlbGen, bool FreedTables) : IJournaledEvent<TlbShootdownStarted>
{
    public static EventManifest Manifest { get; } = new(27, 1, nameof(TlbShootdownStarted));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Mm);
        w.WriteVarInt(TlbGen);
        w.WriteBool(FreedTables);
    }

    public static TlbShootdownStarted Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var tlbGen_ = r.ReadVarInt();
        var freedTables_ = r.ReadBool();
        return new(cpu_, mm_, tlbGen_, freedTables_);
    }
}

/// <summary><c>flush_tlb_mm_range()</c> returned: every IPI it sent was handled.</summary>
public readonly record struct TlbShootdownFinished(int Cpu, int Mm, long TlbGen) : IJournaledEvent<TlbShootdownFinished>
{
    public static EventManifest Manifest { get; } = new(28, 1, nameof(TlbShootdownFinished));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Mm);
        w.WriteVarInt(TlbGen);
    }

    public static TlbShootdownFinished Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var tlbGen_ = r.ReadVarInt();
        return new(cpu_, mm_, tlbGen_);
    }
}

/// <summary>A task called <c>membarrier(cmd, flags, cpu_id)</c>.</summary>
public readonly record struct MembarrierEntered(int Cpu, int Task, int Mm, int Cmd, int Flags, int CpuId) : IJournaledEvent<MembarrierEntered>
{
    public static EventManifest Manifest { get; } = new(50, 1, nameof(MembarrierEntered));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Mm);
        w.WriteVarInt(Cmd);
        w.WriteVarInt(Flags);
        w.WriteVarInt(CpuId);
    }

    public static MembarrierEntered Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        var cmd_ = r.ReadInt32();
        var flags_ = r.ReadInt32();
        var cpuId_ = r.ReadInt32();
        return new(cpu_, task_, mm_, cmd_, flags_, cpuId_);
    }
}

/// <summary>membarrier read the CPUs' <c>rq->curr</c> (b) and chose the IPI targets.</summary>
public readonly record struct MembarrierSampled(int Cpu, CpuMask Targets) : IJournaledEvent<MembarrierSampled>
{
    public static EventManifest Manifest { get; } = new(51, 1, nameof(MembarrierSampled));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        Targets.Write(ref w);
    }

    public static MembarrierSampled Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var targets_ = CpuMask.Read(ref r);
        return new(cpu_, targets_);
    }
}

/// <summary>membarrier returned <paramref name="Ret"/> (a negative errno on failure).</summary>
public readonly record struct MembarrierExited(int Cpu, int Task, long Ret) : IJournaledEvent<MembarrierExited>
{
    public static EventManifest Manifest { get; } = new(52, 1, nameof(MembarrierExited));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Ret);
    }

    public static MembarrierExited Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var ret_ = r.ReadVarInt();
        return new(cpu_, task_, ret_);
    }
}

/// <summary>A kernel thread that uses an mm (kthread_use_mm) starts work that accesses it (io_uring-style user accesses).</summary>
public readonly record struct KthreadWorkBegan(int Cpu, int Task, int Mm) : IJournaledEvent<KthreadWorkBegan>
{
    public static EventManifest Manifest { get; } = new(29, 1, nameof(KthreadWorkBegan));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Mm);
    }

    public static KthreadWorkBegan Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        return new(cpu_, task_, mm_);
    }
}

/// <summary>The kernel thread's work on the mm it uses ended.</summary>
public readonly record struct KthreadWorkEnded(int Cpu, int Task, int Mm) : IJournaledEvent<KthreadWorkEnded>
{
    public static EventManifest Manifest { get; } = new(53, 1, nameof(KthreadWorkEnded));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Mm);
    }

    public static KthreadWorkEnded Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var mm_ = r.ReadInt32();
        return new(cpu_, task_, mm_);
    }
}

/// <summary>Litmus: a user-mode store of <paramref name="Value"/> to shared variable <paramref name="Var"/>
/// (it enters the CPU's store buffer; Twin.Checking's litmus memory decides when others see it).</summary>
public readonly record struct UserStored(int Cpu, int Task, int Var, long Value) : IJournaledEvent<UserStored>
{
    public static EventManifest Manifest { get; } = new(62, 1, nameof(UserStored));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Var);
        w.WriteVarInt(Value);
    }

    public static UserStored Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var var_ = r.ReadInt32();
        var value_ = r.ReadVarInt();
        return new(cpu_, task_, var_, value_);
    }
}

/// <summary>Litmus: a user-mode load of shared variable <paramref name="Var"/> into register <paramref name="Reg"/>
/// of the task (the value is the litmus memory's to decide).</summary>
public readonly record struct UserLoaded(int Cpu, int Task, int Var, int Reg) : IJournaledEvent<UserLoaded>
{
    public static EventManifest Manifest { get; } = new(63, 1, nameof(UserLoaded));

    public void Write(ref PayloadWriter w)
    {
        w.WriteVarInt(Cpu);
        w.WriteVarInt(Task);
        w.WriteVarInt(Var);
        w.WriteVarInt(Reg);
    }

    public static UserLoaded Read(ref PayloadReader r)
    {
        var cpu_ = r.ReadInt32();
        var task_ = r.ReadInt32();
        var var_ = r.ReadInt32();
        var reg_ = r.ReadInt32();
        return new(cpu_, task_, var_, reg_);
    }
}
