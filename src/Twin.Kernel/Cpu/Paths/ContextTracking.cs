using Twin.Kernel.Events;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Cpu;

// Task isolation / nohz_full (kernel-model §7.3), kernel/context_tracking.c with Valentin
// Schneider's proposed "context_tracking,x86: Defer some IPIs until a user->kernel transition":
// a text_poke sync to an isolated CPU outside the kernel sets its CT_WORK_SYNC bit by cmpxchg on
// its context-tracking state instead of interrupting it; the CPU runs the deferred sync_core() as
// it enters the kernel, before any patchable text (ct_kernel_enter_state() → ct_work_flush()).
// Bits coalesce: a second request while one is pending changes nothing.
public sealed partial class CpuActor
{
    /// <summary>B23: the isolated CPU is registered for sync IPIs (a syscall re-registers a step after its entry).</summary>
    private bool _ipiRegistered = true;

    /// <summary>This CPU is nohz_full and text_poke's syncs to it may be deferred.</summary>
    internal bool DefersSyncs => Kernel.Config.Isolation is { Defer: true } iso && iso.Cpus.Test(Id);

    /// <summary>
    /// ct_set_cpu_work(this CPU, CT_WORK_SYNC) by CPU <paramref name="r"/>.From: the bit is set
    /// when the CPU is in user mode or idle (RCU is not watching); refused when it runs kernel
    /// code and must get the IPI. B23 decides from the IPI registration instead, which lags kernel entry.
    /// </summary>
    private void OnCtWorkRequest(CtWorkRequest r)
    {
        bool outside = Kernel.Config.Has(BugSet.B23) ? !_ipiRegistered : Mode != CpuMode.Kernel && !InException;
        Raise(new CtWork(Id, outside ? CtWorkStep.Set : CtWorkStep.Refused, r.From));
        Sender.Tell(new CtWorkAnswer(r.WaitToken, Id, Deferred: outside), Self);
    }

    /// <summary>ct_kernel_enter_state(): ct_work_flush() runs a pending CT_WORK_SYNC's sync_core() first (B19: after entry code that runs a static key).</summary>
    private void CtKernelEnter()
    {
        if (!State.CtWorkPending) return;
        if (Kernel.Config.Has(BugSet.B19) && Kernel.Text is not null && !InException)
        {
            RunPatchableText(TextContext.Entry, Random.NextInt(Text.Sites));
        }
        Serialize(OrderingSite.CtWorkSync);
        Raise(new CtWork(Id, CtWorkStep.Flushed, Id));
    }

    /// <summary>B23: the syscall path re-registers for sync IPIs a step after its entry; returning to user mode unregisters an isolated CPU.</summary>
    private void IpiRegistration(bool registered)
    {
        if (Kernel.Config.Isolation?.Cpus.Test(Id) == true) _ipiRegistered = registered;
    }
}
