using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;

namespace Twin.Kernel.Cpu;

/// <summary>A hotplug request (fault injection): take this CPU offline for <paramref name="DownNs"/>, or bring it back online.</summary>
public readonly record struct CpuHotplug(bool Online, long DownNs);

// CPU hotplug, as fault injection (docs/faults.md). Taking a CPU down waits, as stop_machine()
// does, for it to schedule: the request sets need_resched; the CPU switches to its idle task,
// idle_task_exit() switches it to init_mm, its queued tasks move to online CPUs
// (migrate_tasks()), and it leaves cpu_online_mask. IPIs are sent to online CPUs only, and
// wakeups aimed at an offline CPU go to an online one (select_fallback_rq()). Coming back, the
// CPU boots again: its core serializes, it idles until work arrives.
public sealed partial class CpuActor
{
    private bool _offlinePending;
    private long _downNs;

    /// <summary>A hotplug request is waiting for this CPU's next scheduling point.</summary>
    public bool GoingOffline => _offlinePending;

    /// <summary>A reason to leave the current task: tasks wait on the runqueue, or the CPU is to go offline.</summary>
    private bool WantsSchedule => State.Runqueue.Count > 0 || _offlinePending;

    private void OnHotplug(CpuHotplug h)
    {
        if (h.Online)
        {
            if (!State.Online) BringUp();
            return;
        }
        if (!State.Online || _offlinePending) return;
        // cpu_down() refuses to take the last online CPU (counting those already on their way down).
        if (_kernel.OnlineCpus() <= 1) return;
        Persist(new FaultInjected(Id, FaultKind.Hotplug, Id, 0, h.DownNs));
        _offlinePending = true;
        _downNs = h.DownNs;
        _needResched = true;
        if (_phase == CpuPhase.Idle && !_inException && !_irqsOff) GoOffline();
    }

    /// <summary>The CPU runs its idle task (phase Idle): it leaves the online mask, its queued tasks go elsewhere.</summary>
    private void GoOffline()
    {
        Invariant.Assert(KernelIds.IsIdle(State.Curr), "a CPU goes offline from its idle task");
        _offlinePending = false;
        _irqsOff = true;
        // idle_task_exit(): the dying CPU stops using any user mm.
        if (State.LoadedMm != KernelIds.InitMm && SwitchMmStart(KernelIds.InitMm)) SwitchMmLoad();
        int[] moved = [.. State.Runqueue];
        Persist(new CpuHotplugged(Id, Online: false));
        foreach (int task in moved) WakeOnOnlineCpu(new TaskWakeup(task));
        Timers.Cancel(SliceTimer);
        IrqsOn(); // flush_smp_call_function_queue(): IPIs that were already queued still run
        Context.System.ScheduleTellOnce(_downNs, Self, new CpuHotplug(Online: true, 0));
    }

    /// <summary>The CPU boots again (INIT/SIPI: serialized), online and idle.</summary>
    private void BringUp()
    {
        Persist(new CpuHotplugged(Id, Online: true));
        Serialize(CoreSerializeReason.CpuBoot);
    }

    /// <summary>A membarrier call or a shootdown starts here: a hotplug fault waiting for it takes its CPU down now.</summary>
    private void HotplugOn(HotplugTrigger trigger)
    {
        if (_kernel.Faults?.OnHotplugTrigger(trigger, Id, _kernel.Config.Cpus) is not { } plug) return;
        _kernel.CpuRefs[plug.Cpu].Tell(new CpuHotplug(Online: false, plug.DownNs));
    }

    /// <summary>A wakeup reached an offline CPU: select_fallback_rq() sends it on to an online one.</summary>
    private bool ForwardedWhileOffline(TaskWakeup wakeup)
    {
        if (State.Online) return false;
        WakeOnOnlineCpu(wakeup);
        return true;
    }

    /// <summary>select_fallback_rq(): the wakeup goes to an online CPU drawn at random.</summary>
    private void WakeOnOnlineCpu(TaskWakeup wakeup) => _kernel.CpuRefs[_kernel.FallbackCpu(Context.Random)].Tell(wakeup);
}
