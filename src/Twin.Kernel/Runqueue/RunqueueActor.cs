using Akka.Actor;
using Twin.Actors;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;
using Twin.Kernel.Machine;

namespace Twin.Kernel.Runqueue;

/// <summary>
/// One CPU's runqueue (stream "rq-N"): enqueue (try_to_wake_up from any CPU), the rq->curr store
/// of __schedule() with pick_next_task's bookkeeping, rq->membarrier_state and rq->prev_mm. Its
/// own CPU reads it freely (the queue, curr) and writes it by message; other CPUs read rq->curr
/// and rq->membarrier_state (membarrier's samples) and wake tasks onto it. A wakeup for an
/// offline CPU goes on to an online one (select_fallback_rq()).
/// </summary>
public sealed class RunqueueActor : KernelActor
{
    public RunqueueActor(KernelModel kernel, int cpu) : base(kernel, StreamOf(cpu))
    {
        Cpu = cpu;
        State = new RqState(cpu);
        kernel.Register(this);
        ApplyWith<TaskEnqueued>(State.Apply);
        ApplyWith<SchedSwitched>(State.Apply);
        ApplyWith<RqMembarrierStateSet>(State.Apply);
        ApplyWith<RqPrevMmCleared>(State.Apply);
        ApplyWith<RqTasksMigrated>(State.Apply);
    }

    public int Cpu { get; }

    public RqState State { get; }

    /// <summary>The rq lock is held by this runqueue's CPU (driver state: re-execution reproduces it).</summary>
    public bool Locked { get; private set; }

    public static string StreamOf(int cpu) => $"rq-{cpu}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case TaskWakeup w when Locked:
                Stash.Stash();
                break;
            case TaskWakeup w:
                Enqueue(w.Task);
                break;
            case RqLock l:
                Invariant.Assert(!Locked, "the rq lock is taken once at a time");
                Locked = true;
                Sender.Tell(new Done(l.Token), Self);
                break;
            case RqSwitch s:
                Switch(s);
                break;
            case RqFinishSwitch f:
                FinishSwitch(f);
                break;
            case RqSetMembarrierState m:
                SetMembarrierState(m);
                break;
            case RqMigrateTasks:
                MigrateTasks();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>activate_task(), then resched_curr(): the CPU hears of it (an idle one schedules).</summary>
    private void Enqueue(int task)
    {
        CpuState cpu = Kernel.Cpus[Cpu].State;
        if (!cpu.Online)
        {
            Kernel.RqRefs[Kernel.FallbackCpu(Random)].Tell(new TaskWakeup(task));
            return;
        }
        Raise(new TaskEnqueued(Cpu, task));
        Kernel.CpuRefs[Cpu].Tell(new RqWoken(), Self);
    }

    private void Switch(RqSwitch s)
    {
        Invariant.Assert(Locked, "__schedule stores rq->curr under the rq lock");
        Invariant.Assert(s.Prev == State.Curr, "the CPU switches from rq->curr");
        Raise(new SchedSwitched(Cpu, s.Prev, s.Next, s.PrevState, s.PrevMm));
        if (s.CopyMembarrierState)
        {
            // membarrier_switch_mm(): the copy follows next->mm's membarrier_state, read now.
            TaskInfo next = Kernel.Tasks.Get(s.Next);
            int state = Kernel.Mm(next.Mm).State.MembarrierState;
            if (State.MembarrierState != state) Raise(new RqMembarrierStateSet(Cpu, state, RqStateReason.SwitchMm));
        }
        Sender.Tell(new Done(s.Token), Self);
    }

    private void FinishSwitch(RqFinishSwitch f)
    {
        Invariant.Assert(Locked, "finish_task_switch releases the lock __schedule took");
        Invariant.Assert(f.PrevMm == State.PrevMm, "finish_task_switch takes the prev_mm the switch left");
        if (f.PrevMm != KernelIds.NoPrevMm) Raise(new RqPrevMmCleared(Cpu, f.PrevMm));
        Locked = false;
        Stash.UnstashAll();
        Answer(f.Token, f.PrevMm);
    }

    private void SetMembarrierState(RqSetMembarrierState m)
    {
        // Registration, its IPI and exec store unconditionally; the switch and update_current_mm paths only when the copy changes.
        bool always = m.Reason is RqStateReason.RegisterLocal or RqStateReason.IpiSyncRqState or RqStateReason.ExecMmap;
        if (always || State.MembarrierState != m.State) Raise(new RqMembarrierStateSet(Cpu, m.State, m.Reason));
        Sender.Tell(new Done(m.Token), Self);
    }

    private void MigrateTasks()
    {
        int[] moved = [.. State.Queue];
        Raise(new RqTasksMigrated(Cpu, moved.Length));
        foreach (int task in moved) Kernel.RqRefs[Kernel.FallbackCpu(Random)].Tell(new TaskWakeup(task));
    }
}
