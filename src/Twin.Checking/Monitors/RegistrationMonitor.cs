using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-REG (kernel-model §3.5): (1) when a REGISTER command returns 0, every CPU running the mm has
/// the command's state bit in its runqueue copy (ipi_sync_rq_state, or the single-user shortcut);
/// (2) the copy follows the mm the CPU runs: after a switch that calls membarrier_switch_mm (to a
/// user mm other than prev->active_mm) and after current->mm changes (kthread_use_mm, exec), the
/// copy equals the mm's state before the CPU next accesses user memory. The lazy path keeps the old
/// copy, as the kernel does; (3) registration's own store of the copy (ipi_sync_rq_state, the
/// single-user shortcut) is followed by its smp_mb() before the CPU's next user access ("This
/// guarantees that no memory access following registration is reordered before registration"),
/// so that a GLOBAL_EXPEDITED call made after the registration returns reads the new copy. Finds
/// B3's missing membarrier_update_current_mm.
/// </summary>
public sealed class RegistrationMonitor : Monitor
{
    private const int StateBits = MembarrierState.PrivateExpedited | MembarrierState.GlobalExpedited
        | MembarrierState.SyncCore | MembarrierState.Rseq;

    private readonly int[] _cmd = new int[Limits.MaxCpus];
    private readonly int[] _mm = new int[Limits.MaxCpus];
    private readonly int[] _activeMm = new int[Limits.MaxCpus];
    private readonly bool[] _pending = new bool[Limits.MaxCpus];
    private readonly int[] _expected = new int[Limits.MaxCpus];
    private readonly int[] _pendingMm = new int[Limits.MaxCpus];
    private readonly long[] _pendingSince = new long[Limits.MaxCpus];

    /// <summary>Per CPU: event index of registration's store of rq->membarrier_state that still owes its barrier (0: none).</summary>
    private readonly long[] _registered = new long[Limits.MaxCpus];

    public override string Property => "P-REG";

    public override string Guarantee =>
        "sync_runqueues_membarrier_state(): \"ensure all future scheduler executions will observe @mm's new membarrier state\"; " +
        "membarrier_switch_mm() and membarrier_update_current_mm() keep rq->membarrier_state in step with the mm";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out MembarrierEntered me))
        {
            _cmd[me.Cpu] = me.Cmd;
            _mm[me.Cpu] = me.Mm;
        }
        else if (Is(in evt, out MembarrierExited mx))
        {
            int bit = _cmd[mx.Cpu] switch
            {
                MembarrierCmd.RegisterPrivateExpedited => MembarrierState.PrivateExpedited,
                MembarrierCmd.RegisterPrivateExpeditedSyncCore => MembarrierState.SyncCore,
                MembarrierCmd.RegisterPrivateExpeditedRseq => MembarrierState.Rseq,
                MembarrierCmd.RegisterGlobalExpedited => MembarrierState.GlobalExpedited,
                _ => 0,
            };
            if (bit == 0 || mx.Ret != 0) return;
            int mm = _mm[mx.Cpu];
            for (int c = 0; c < View.Cpus; c++)
            {
                if (View.CurrMm(c) == mm && (View.RqState[c] & bit) == 0)
                {
                    Report(in meta, c, mm,
                        $"{MembarrierCmd.Name(_cmd[mx.Cpu])} of mm {mm} returns while CPU {c} runs it with rq->membarrier_state {View.RqState[c]:x} lacking {bit:x}",
                        task: mx.Task);
                }
            }
        }
        else if (Is(in evt, out SchedSwitched s))
        {
            int next = View.TaskMm(s.Next);
            _pending[s.Cpu] = false;
            if (next != KernelIds.None)
            {
                if (_activeMm[s.Cpu] != next) Expect(in meta, s.Cpu, next);
                _activeMm[s.Cpu] = next;
            }
        }
        else if (Is(in evt, out TaskMmChanged tm))
        {
            int cpu = View.CpuRunning(tm.Task);
            if (cpu < 0) return;
            _pending[cpu] = false;
            if (tm.Mm == KernelIds.None) return; // active_mm stays; the copy is cleared and not owed
            Expect(in meta, cpu, tm.Mm);
            _activeMm[cpu] = tm.Mm;
        }
        else if (Is(in evt, out RqMembarrierStateSet rs))
        {
            if (rs.Reason is RqStateReason.IpiSyncRqState or RqStateReason.RegisterLocal) _registered[rs.Cpu] = meta.EventIndex;
        }
        else if (Is(in evt, out FullBarrier fb))
        {
            if (BarrierPairings.AfterRegistration.Contains(fb.Reason)) _registered[fb.Cpu] = 0;
        }
        else if (Is(in evt, out ReturnedToUser ru))
        {
            Verify(in meta, ru.Cpu, ru.Task);
            Registered(in meta, ru.Cpu, ru.Task);
        }
        else if (Is(in evt, out KthreadWorkBegan kb))
        {
            Verify(in meta, kb.Cpu, kb.Task);
        }
    }

    private void Registered(in EventMeta meta, int cpu, int task)
    {
        long at = _registered[cpu];
        if (at == 0) return;
        _registered[cpu] = 0;
        Report(in meta, cpu, View.CurrMm(cpu),
            $"CPU {cpu} returns to user mode with no {BarrierPairings.Describe(BarrierPairings.AfterRegistration)} since registration stored its rq->membarrier_state " +
            $"at event {at}: a GLOBAL_EXPEDITED call after the registration returns may still read the old copy and skip the CPU",
            task: task, windowStart: at);
    }

    private void Expect(in EventMeta meta, int cpu, int mm)
    {
        _pending[cpu] = true;
        _pendingMm[cpu] = mm;
        _pendingSince[cpu] = meta.EventIndex;
        _expected[cpu] = View.MmState(mm) & StateBits;
    }

    private void Verify(in EventMeta meta, int cpu, int task)
    {
        if (!_pending[cpu]) return;
        _pending[cpu] = false;
        int mm = _pendingMm[cpu];
        // The mm may have registered more since (its own sync reaches this CPU by IPI); only the
        // bits it had when current->mm changed must be in the copy.
        if ((View.RqState[cpu] & _expected[cpu]) != _expected[cpu])
        {
            Report(in meta, cpu, mm,
                $"CPU {cpu} accesses mm {mm} (membarrier_state bits {_expected[cpu]:x}) with rq->membarrier_state {View.RqState[cpu]:x}: the copy was not updated",
                task: task, windowStart: _pendingSince[cpu]);
        }
    }
}
