using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// CPU hotplug as fault injection (docs/faults.md), after kernel/cpu.c: taking a CPU down waits, as
// stop_machine() does, for it to schedule: the request sets need_resched; the CPU switches to its
// idle task, idle_task_exit() switches it to init_mm, it leaves cpu_online_mask and its runqueue
// moves the queued tasks to online CPUs (migrate_tasks()). IPIs are sent to online CPUs only, and
// wakeups aimed at an offline CPU go to an online one (select_fallback_rq(), in the runqueue).
// Coming back, the CPU boots again: its core serializes, it idles until work arrives.
public sealed partial class CpuActor
{
    private bool _offlinePending;
    private long _downNs;

    /// <summary>A hotplug request is waiting for this CPU's next scheduling point.</summary>
    public bool GoingOffline => _offlinePending;

    private void OnHotplug(CpuHotplug h)
    {
        if (h.Online)
        {
            if (!State.Online) BringUp();
            return;
        }
        if (!State.Online || _offlinePending) return;
        // cpu_down() refuses to take the last online CPU (counting those already on their way down).
        if (Kernel.OnlineCpus() <= 1) return;
        Raise(new FaultInjected(Id, FaultKind.Hotplug, Id, 0, h.DownNs));
        _offlinePending = true;
        _downNs = h.DownNs;
        _needResched = true;
        if (_task.Wait == FrameWait.Idle && !InException && !_irqsOff) GoOffline();
    }

    /// <summary>The CPU runs its idle task: it leaves the online mask, its queued tasks go elsewhere.</summary>
    private void GoOffline()
    {
        Invariant.Assert(KernelIds.IsIdle(Curr), "a CPU goes offline from its idle task");
        _offlinePending = false;
        _irqsOff = true;
        // idle_task_exit(): the dying CPU stops using any user mm.
        if (State.LoadedMm != KernelIds.InitMm) SwitchToInitMm();
        Raise(new CpuHotplugged(Id, Online: false));
        RqRef.Tell(new RqMigrateTasks(), Self);
        CancelSlice();
        IrqsOn(); // flush_smp_call_function_queue(): IPIs that were already queued still run
        TellAfter(_downNs, Self, new CpuHotplug(Online: true, 0));
    }

    /// <summary>The CPU boots again (INIT/SIPI: serialized), online and idle.</summary>
    private void BringUp()
    {
        Raise(new CpuHotplugged(Id, Online: true));
        Serialize(OrderingSite.CpuBoot);
    }

    /// <summary>A membarrier call or a shootdown starts here: a hotplug fault waiting for it takes its CPU down now.</summary>
    private void HotplugOn(HotplugTrigger trigger)
    {
        if (Kernel.Faults?.OnHotplugTrigger(trigger, Id, Cpus) is not { } plug) return;
        Kernel.CpuRefs[plug.Cpu].Tell(new CpuHotplug(Online: false, plug.DownNs), Self);
    }

    /// <summary>try_to_wake_up() queued a task on this CPU's runqueue: an idle CPU with interrupts on schedules it now.</summary>
    private void OnRqWoken()
    {
        if (InException)
        {
            _exception.Woken = true;
            return;
        }
        if (!State.Online) return;
        ArmNmi();
        if (_task.Wait == FrameWait.Idle && !_irqsOff) Launch(Schedule(PrevState.Runnable));
    }
}
