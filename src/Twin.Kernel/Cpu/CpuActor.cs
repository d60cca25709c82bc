using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Events;
using Twin.Kernel.Machine;

namespace Twin.Kernel.Cpu;

/// <summary>
/// One CPU and its runqueue (stream "cpu-N"). It runs the current task for a random slice, then
/// schedules: the task stays runnable or blocks (and wakes later on a random CPU), the next task
/// comes from the runqueue head or is the idle task, and the address space follows one of the
/// four <c>context_switch()</c> cases of kernel-model §2.1.
///
/// States: idle (no slice timer; a wakeup schedules at once) and running a task (slice timer
/// armed). Both handle every message; nothing is stashed.
/// </summary>
public sealed class CpuActor : PersistentActor
{
    private const string SliceTimer = "slice";

    private readonly Kernel _kernel;

    public CpuActor(Kernel kernel, int cpu)
    {
        _kernel = kernel;
        Id = cpu;
        State = new CpuState(cpu);
        kernel.Cpus[cpu] = this;
        Recover<CpuBooted>(State.Apply);
        Recover<TaskEnqueued>(State.Apply);
        Recover<SchedSwitched>(State.Apply);
        Recover<LazyTlbEntered>(State.Apply);
        Recover<MmSwitched>(State.Apply);
        Command<SchedTick>(OnSliceEnd);
        Command<TaskWakeup>(OnWakeup);
    }

    public int Id { get; }

    public CpuState State { get; }

    public override string PersistenceId => StreamOf(Id);

    public static string StreamOf(int cpu) => $"cpu-{cpu}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    protected override void PreStart()
    {
        if (LastSequenceNr == 0) Persist(new CpuBooted(Id));
    }

    private void OnWakeup(TaskWakeup wakeup)
    {
        Persist(new TaskEnqueued(Id, wakeup.Task));
        if (KernelIds.IsIdle(State.Curr)) Schedule(PrevState.Runnable);
    }

    private void OnSliceEnd(SchedTick _)
    {
        int prev = State.Curr;
        Invariant.Assert(!KernelIds.IsIdle(prev), "the idle task has no slice timer");
        WorkloadConfig w = _kernel.Config.Workload;
        DeterministicRandom random = Context.Random;
        if (random.Chance(w.SleepProbability))
        {
            Schedule(PrevState.Sleeping);
            long sleepNs = random.NextLong(w.SleepNsMin, w.SleepNsMax);
            int target = random.NextInt(_kernel.Config.Cpus);
            Context.System.ScheduleTellOnce(sleepNs, _kernel.CpuRefs[target], new TaskWakeup(prev));
        }
        else
        {
            Schedule(PrevState.Runnable);
        }
    }

    /// <summary><c>__schedule()</c>: pick next, store rq->curr, then <c>context_switch()</c>.</summary>
    private void Schedule(PrevState prevState)
    {
        int prev = State.Curr;
        bool prevKeepsCpu = prevState == PrevState.Runnable && !KernelIds.IsIdle(prev);
        int next = State.Runqueue.Count > 0 ? State.Runqueue[0]
            : prevKeepsCpu ? prev
            : KernelIds.IdleTask(Id);
        if (next != prev)
        {
            Persist(new SchedSwitched(Id, prev, next, prevState));
            ContextSwitch(next);
        }
        if (KernelIds.IsIdle(next))
        {
            Timers.Cancel(SliceTimer);
        }
        else
        {
            WorkloadConfig w = _kernel.Config.Workload;
            Timers.StartSingleTimer(SliceTimer, new SchedTick(), Context.Random.NextLong(w.RunNsMin, w.RunNsMax));
        }
    }

    /// <summary>The address-space half of <c>context_switch()</c> (kernel-model §2.1).</summary>
    private void ContextSwitch(int next)
    {
        TaskInfo n = _kernel.Tasks.Get(next);
        if (n.Kthread)
        {
            // kernel → kernel and user → kernel: the kthread borrows active_mm.
            Persist(new LazyTlbEntered(Id, State.ActiveMm));
            return;
        }
        SwitchMmIrqsOff(n.Mm);
    }

    /// <summary>x86 <c>switch_mm_irqs_off()</c> (kernel-model §2.2), without shootdowns yet: tlb_gen never moves.</summary>
    private void SwitchMmIrqsOff(int next)
    {
        int prev = State.LoadedMm;
        bool wasLazy = State.IsLazy;
        if (prev == next)
        {
            // user → user of one mm: nothing to do. kernel → user back to the borrowed mm: unlazy;
            // tlb_gen is current, so the kernel returns without writing CR3.
            if (wasLazy) Persist(new MmSwitched(Id, prev, next, Cr3Written: false, WasLazy: true));
            return;
        }
        _kernel.Mm(next).CpumaskSetCpu(Id);
        Persist(new MmSwitched(Id, prev, next, Cr3Written: true, WasLazy: wasLazy));
        Invariant.Assert(_kernel.Mm(next).State.CpumaskTest(Id), "mm_cpumask ⊇ {cpu : loaded_mm == mm} (TLB-2)");
    }
}
