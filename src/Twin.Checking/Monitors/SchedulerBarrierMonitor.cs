using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-PE, the scheduler side (kernel-model §3.6, scenarios C–E): for every stretch of time in which
/// a CPU's rq->curr->mm is a registered mm X (an "occupancy", kthread_use_mm included), the barrier
/// the kernel puts after the store that starts it and before its first user access (pairs with
/// membarrier's entry barrier (a)), and the one it puts after its last user access and before the
/// store that ends it (pairs with the exit barrier (c)). Each side asks for its own barrier
/// (<see cref="BarrierPairings"/>): one that runs in the window for another reason, an IPI
/// handler's say, does not stand in for it. User accesses are user mode (ReturnedToUser …
/// KernelEntered), a kthread's work on the mm it uses, and a kthread's litmus store or load.
/// A violation names both sides and, when one raced, the membarrier call whose read of rq->curr
/// skipped the CPU. Finds B2 (exit_mm), B3 (kthread_use/unuse_mm) and B11 (riscv switch_mm).
/// </summary>
public sealed class SchedulerBarrierMonitor : Monitor
{
    private const int Registered = MembarrierState.PrivateExpedited | MembarrierState.GlobalExpedited;

    /// <summary>rq->curr->mm per CPU.</summary>
    private readonly int[] _currMm = new int[Limits.MaxCpus];

    /// <summary>The registered mm whose occupancy is being checked (0: none, or the mm was not registered when it began).</summary>
    private readonly int[] _occupied = new int[Limits.MaxCpus];
    private readonly long[] _start = new long[Limits.MaxCpus];
    private readonly bool[] _needStartBarrier = new bool[Limits.MaxCpus];

    /// <summary>The barriers that may close the start window of the CPU's occupancy.</summary>
    private readonly BarrierSet[] _startBarriers = new BarrierSet[Limits.MaxCpus];
    private readonly long[] _lastAccessEnd = new long[Limits.MaxCpus];
    private readonly bool[] _accessing = new bool[Limits.MaxCpus];

    /// <summary>Per caller CPU: the mm and command of the membarrier call in progress, for witnesses.</summary>
    private readonly int[] _callMm = new int[Limits.MaxCpus];
    private readonly int[] _callCmd = new int[Limits.MaxCpus];

    /// <summary>Per CPU: the last membarrier sample of its occupied mm, taken from another CPU, that skipped it (event, caller CPU, command; 0: none).</summary>
    private readonly (long Event, int Caller, int Cmd)[] _skippedBy = new (long, int, int)[Limits.MaxCpus];

    public override string Property => "P-PE";

    public override string Guarantee =>
        "__schedule(): \"The membarrier system call requires a full memory barrier after coming from user-space, before storing to " +
        "rq->curr\" and \"a full barrier after updating rq->curr, before returning to user-space\"; exit_mm() and kthread_use/unuse_mm() " +
        "provide the same pairing when current->mm changes";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out FullBarrier fb))
        {
            if (_startBarriers[fb.Cpu].Contains(fb.Reason)) _needStartBarrier[fb.Cpu] = false;
        }
        else if (Is(in evt, out ReturnedToUser ru))
        {
            BeginAccess(in meta, ru.Cpu, ru.Task);
        }
        else if (Is(in evt, out KthreadWorkBegan kb))
        {
            BeginAccess(in meta, kb.Cpu, kb.Task);
        }
        else if (Is(in evt, out KernelEntered ke))
        {
            EndAccess(in meta, ke.Cpu);
        }
        else if (Is(in evt, out KthreadWorkEnded kw))
        {
            EndAccess(in meta, kw.Cpu);
        }
        else if (Is(in evt, out UserStored st) && View.IsKthread(st.Task))
        {
            KthreadAccess(in meta, st.Cpu, st.Task);
        }
        else if (Is(in evt, out UserLoaded ld) && View.IsKthread(ld.Task))
        {
            KthreadAccess(in meta, ld.Cpu, ld.Task);
        }
        else if (Is(in evt, out SchedSwitched s))
        {
            int nextMm = View.TaskMm(s.Next);
            if (nextMm != _currMm[s.Cpu]) Change(in meta, s.Cpu, nextMm, BarrierPairings.BeforeCurrStore, BarrierPairings.AfterCurrStore, "rq->curr");
        }
        else if (Is(in evt, out TaskMmChanged tm))
        {
            int cpu = View.CpuRunning(tm.Task);
            if (cpu >= 0 && tm.Mm != _currMm[cpu]) MmChanged(in meta, cpu, in tm);
        }
        else if (Is(in evt, out MembarrierStateChanged sc) && (sc.State & Registered) != 0 && (View.MmState(sc.Mm) & Registered) == 0)
        {
            Registering(in meta, sc.Mm);
        }
        else if (Is(in evt, out MembarrierEntered me))
        {
            _callMm[me.Cpu] = me.Mm;
            _callCmd[me.Cpu] = me.Cmd;
        }
        else if (Is(in evt, out MembarrierSampled ms))
        {
            Sampled(in meta, in ms);
        }
    }

    private void MmChanged(in EventMeta meta, int cpu, in TaskMmChanged tm)
    {
        switch (tm.Reason)
        {
            case MmChangeReason.KthreadUseMm:
                Change(in meta, cpu, tm.Mm, BarrierSet.Of(), BarrierPairings.AfterUseMm, "tsk->mm (kthread_use_mm)");
                break;
            case MmChangeReason.KthreadUnuseMm:
                Change(in meta, cpu, tm.Mm, BarrierPairings.BeforeUnuseMm, default, "tsk->mm (kthread_unuse_mm)");
                break;
            case MmChangeReason.ExitMm:
                Change(in meta, cpu, tm.Mm, BarrierPairings.BeforeExitMm, default, "current->mm (exit_mm)");
                break;
            default:
                Change(in meta, cpu, tm.Mm, BarrierPairings.BeforeExecMmap, default, "current->mm (exec)");
                break;
        }
    }

    /// <summary>
    /// The mm registers while CPUs already run it: their occupancies are checked from now on. The
    /// registration's own synchronization (ipi_sync_rq_state's barrier, or the caller being the
    /// only user) stands for the start barrier; the end barrier is still owed.
    /// </summary>
    private void Registering(in EventMeta meta, int mm)
    {
        for (int c = 0; c < View.Cpus; c++)
        {
            if (_currMm[c] != mm || _occupied[c] != KernelIds.None) continue;
            _occupied[c] = mm;
            _start[c] = meta.EventIndex;
            _needStartBarrier[c] = false;
            _skippedBy[c] = default;
        }
    }

    /// <summary>A membarrier call's read of rq->curr (b): note the CPUs running its mm, still owing their start barrier, that it skipped.</summary>
    private void Sampled(in EventMeta meta, in MembarrierSampled ms)
    {
        int mm = _callMm[ms.Cpu];
        for (int c = 0; c < View.Cpus; c++)
        {
            if (c != ms.Cpu && _occupied[c] == mm && mm != KernelIds.None && !ms.Targets.Test(c)) _skippedBy[c] = (meta.EventIndex, ms.Cpu, _callCmd[ms.Cpu]);
        }
    }

    private void BeginAccess(in EventMeta meta, int cpu, int task)
    {
        _accessing[cpu] = true;
        if (_occupied[cpu] != KernelIds.None && _needStartBarrier[cpu])
        {
            Report(in meta, cpu, _occupied[cpu],
                $"CPU {cpu} begins user accesses of mm {_occupied[cpu]} (task {task}) with no {BarrierPairings.Describe(_startBarriers[cpu])} " +
                $"since rq->curr->mm became that mm at event {_start[cpu]}; that barrier pairs with membarrier's entry barrier (a)" +
                Incidental(cpu, _start[cpu]) + Raced(cpu, "before"),
                task: task, windowStart: _start[cpu]);
            _needStartBarrier[cpu] = false;
        }
    }

    /// <summary>A kernel thread's single copy_to/from_user on the mm it uses (a litmus step).</summary>
    private void KthreadAccess(in EventMeta meta, int cpu, int task)
    {
        BeginAccess(in meta, cpu, task);
        EndAccess(in meta, cpu);
    }

    private void EndAccess(in EventMeta meta, int cpu)
    {
        if (!_accessing[cpu]) return;
        _accessing[cpu] = false;
        _lastAccessEnd[cpu] = meta.EventIndex;
    }

    /// <summary>
    /// rq->curr->mm changes from the occupied mm to <paramref name="mm"/> on <paramref name="cpu"/>
    /// by a store to <paramref name="what"/>: <paramref name="before"/> must have run since the last
    /// user access, and <paramref name="after"/> must run before the next one.
    /// </summary>
    private void Change(in EventMeta meta, int cpu, int mm, BarrierSet before, BarrierSet after, string what)
    {
        int old = _occupied[cpu];
        if (old != KernelIds.None && _lastAccessEnd[cpu] > _start[cpu] && View.LastBarrierOf(cpu, before) < _lastAccessEnd[cpu])
        {
            Report(in meta, cpu, old,
                $"CPU {cpu} stores {what} and stops running mm {old} with no {BarrierPairings.Describe(before)} after its last user access " +
                $"at event {_lastAccessEnd[cpu]}; that barrier pairs with membarrier's exit barrier (c)" + Incidental(cpu, _lastAccessEnd[cpu]),
                task: View.Curr[cpu], windowStart: _lastAccessEnd[cpu]);
        }
        bool registered = mm != KernelIds.None && (View.MmState(mm) & Registered) != 0;
        _currMm[cpu] = mm;
        _occupied[cpu] = registered ? mm : KernelIds.None;
        _start[cpu] = meta.EventIndex;
        _needStartBarrier[cpu] = registered;
        _startBarriers[cpu] = after;
        _accessing[cpu] = false;
        _skippedBy[cpu] = default;
    }

    /// <summary>"; seen instead: ..." when a barrier of another pairing ran in the window.</summary>
    private string Incidental(int cpu, long since) =>
        View.LastBarrier[cpu] > since ? $"; the barrier that ran in between, {BarrierPairings.Describe(View.LastBarrierReason[cpu])} at event {View.LastBarrier[cpu]}, belongs to another pairing" : "";

    /// <summary>The membarrier call that skipped the CPU while it owed its barrier, if one did.</summary>
    private string Raced(int cpu, string when)
    {
        (long at, int caller, int cmd) = _skippedBy[cpu];
        return at == 0 ? "" : $"; membarrier({MembarrierCmd.Name(cmd)}) on CPU {caller} read CPU {cpu}'s rq->curr at event {at}, {when} the barrier, and sent it no IPI";
    }
}
