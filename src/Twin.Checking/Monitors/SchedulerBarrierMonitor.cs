using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-PE, the scheduler side (kernel-model §3.6, scenarios C–E): for every stretch of time in which
/// a CPU's rq->curr->mm is a registered mm X (an "occupancy", kthread_use_mm included), a full
/// barrier after it starts and before its first user access (pairs with membarrier's entry
/// barrier), and a full barrier after its last user access and before it ends (pairs with the exit
/// barrier). User accesses are user mode (ReturnedToUser … KernelEntered), a kthread's work on
/// the mm it uses, and a kthread's litmus store or load. Finds B2 (exit_mm), B3 (kthread_use/unuse_mm) and B11 (riscv switch_mm).
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
    private readonly long[] _lastAccessEnd = new long[Limits.MaxCpus];
    private readonly bool[] _accessing = new bool[Limits.MaxCpus];

    public override string Property => "P-PE";

    public override string Guarantee =>
        "__schedule(): \"The membarrier system call requires a full memory barrier after coming from user-space, before storing to " +
        "rq->curr\" and \"a full barrier after updating rq->curr, before returning to user-space\"; exit_mm() and kthread_use/unuse_mm() " +
        "provide the same pairing when current->mm changes";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out FullBarrier fb))
        {
            _needStartBarrier[fb.Cpu] = false;
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
            if (nextMm != _currMm[s.Cpu]) Change(in meta, s.Cpu, nextMm);
        }
        else if (Is(in evt, out TaskMmChanged tm))
        {
            int cpu = View.CpuRunning(tm.Task);
            if (cpu >= 0 && tm.Mm != _currMm[cpu]) Change(in meta, cpu, tm.Mm);
        }
        else if (Is(in evt, out MembarrierStateChanged sc) && (sc.State & Registered) != 0 && (View.MmState(sc.Mm) & Registered) == 0)
        {
            Registering(in meta, sc.Mm);
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
        }
    }

    private void BeginAccess(in EventMeta meta, int cpu, int task)
    {
        _accessing[cpu] = true;
        if (_occupied[cpu] != KernelIds.None && _needStartBarrier[cpu])
        {
            Report(in meta, cpu, _occupied[cpu],
                $"CPU {cpu} begins user accesses of mm {_occupied[cpu]} with no full barrier since rq->curr->mm became that mm (pairs with membarrier's entry barrier)",
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

    /// <summary>rq->curr->mm changes from the occupied mm to <paramref name="mm"/> on <paramref name="cpu"/>.</summary>
    private void Change(in EventMeta meta, int cpu, int mm)
    {
        int old = _occupied[cpu];
        if (old != KernelIds.None && _lastAccessEnd[cpu] > _start[cpu] && View.LastBarrier[cpu] < _lastAccessEnd[cpu])
        {
            Report(in meta, cpu, old,
                $"CPU {cpu} stops running mm {old} with no full barrier after its last user access (pairs with membarrier's exit barrier)",
                task: View.Curr[cpu], windowStart: _lastAccessEnd[cpu]);
        }
        bool registered = mm != KernelIds.None && (View.MmState(mm) & Registered) != 0;
        _currMm[cpu] = mm;
        _occupied[cpu] = registered ? mm : KernelIds.None;
        _start[cpu] = meta.EventIndex;
        _needStartBarrier[cpu] = registered;
        _accessing[cpu] = false;
    }
}
