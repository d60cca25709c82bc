using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// LAZY-1 (kernel-model §8): an unlazy without a CR3 write (the same-mm path of
/// switch_mm_irqs_off, by a kernel → user switch or by kthread_use_mm) is followed, before the CPU
/// next returns to user mode, by the barrier the kernel puts there (finish_task_switch()'s or
/// kthread_use_mm()'s mmdrop_lazy_tlb, arm64's switch_to) and, if the mm registered SYNC_CORE, by a
/// core-serializing event. Finds B8 and B8b.
/// </summary>
public sealed class LazyUnlazyMonitor : Monitor
{
    private readonly long[] _unlazy = new long[Limits.MaxCpus];
    private readonly int[] _mm = new int[Limits.MaxCpus];
    private readonly bool[] _needBarrier = new bool[Limits.MaxCpus];
    private readonly bool[] _needSync = new bool[Limits.MaxCpus];

    public override string Property => "LAZY-1";

    public override string Guarantee =>
        "finish_task_switch(): for kernel → user, \"membarrier_mm_sync_core_before_usermode(mm)\" and \"mmdrop_lazy_tlb_sched(mm)\" provide " +
        "the full barrier after rq->curr and the core sync that switch_mm_irqs_off skips when it unlazies without a CR3 write";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out MmSwitched ms))
        {
            int c = ms.Cpu;
            if (ms.Prev == ms.Next && !ms.Cr3Written)
            {
                _unlazy[c] = meta.EventIndex;
                _mm[c] = ms.Next;
                _needBarrier[c] = true;
                _needSync[c] = (View.MmState(ms.Next) & MembarrierState.SyncCore) != 0;
            }
            else
            {
                _needBarrier[c] = _needSync[c] = false;
            }
        }
        else if (Is(in evt, out FullBarrier fb))
        {
            // The barrier the kernel puts there, not one that ran for another reason (the x86 smp_mb()
            // before reading tlb_gen orders the TLB, and comes before the unlazy besides).
            if (BarrierPairings.AfterUnlazy.Contains(fb.Reason)) _needBarrier[fb.Cpu] = false;
        }
        else if (Is(in evt, out CoreSerialized cs))
        {
            _needSync[cs.Cpu] = false;
        }
        else if (Is(in evt, out ReturnedToUser ru))
        {
            int c = ru.Cpu;
            if (_needBarrier[c])
            {
                Report(in meta, c, _mm[c], $"CPU {c} unlazied into mm {_mm[c]} without a CR3 write at event {_unlazy[c]} and returns to user mode with no " +
                    $"{BarrierPairings.Describe(BarrierPairings.AfterUnlazy)} since (scenario C's (e): it pairs with membarrier's entry barrier (a))",
                    task: ru.Task, windowStart: _unlazy[c]);
            }
            if (_needSync[c])
            {
                Report(in meta, c, _mm[c],
                    $"CPU {c} unlazied into mm {_mm[c]} (SYNC_CORE registered) without a CR3 write and returns to user mode by {ru.Path} with no core sync since",
                    task: ru.Task, windowStart: _unlazy[c]);
            }
            _needBarrier[c] = _needSync[c] = false;
        }
    }
}
