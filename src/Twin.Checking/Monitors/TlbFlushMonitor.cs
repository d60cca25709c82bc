using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Checking.Monitors;

/// <summary>
/// TLB-1 (kernel-model §2.4, §8): when flush_tlb_mm_range(mm) returns having raised tlb_gen to g,
/// every CPU with the mm loaded and not lazy has caught up to g; a CPU still inside the switching
/// window catches up to g when its switch completes; a lazy CPU that unlazies without a CR3 write
/// does so only at the current generation. Finds B12.
/// </summary>
public sealed class TlbFlushMonitor : Monitor
{
    private readonly long[] _pendingGen = new long[Limits.MaxCpus];
    private readonly int[] _pendingMm = new int[Limits.MaxCpus];
    private readonly long[] _pendingSince = new long[Limits.MaxCpus];

    public override string Property => "TLB-1";

    public override string Guarantee =>
        "switch_mm_irqs_off(): \"switch_mm() must see the new tlb_gen or flush_tlb_mm_range() must see the new loaded_mm, or both\"";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out TlbShootdownFinished f))
        {
            for (int c = 0; c < View.Cpus; c++)
            {
                if (View.Switching[c] && View.SwitchingTo[c] == f.Mm)
                {
                    if (f.TlbGen > _pendingGen[c])
                    {
                        _pendingGen[c] = f.TlbGen;
                        _pendingMm[c] = f.Mm;
                        _pendingSince[c] = meta.EventIndex;
                    }
                }
                else if (!View.Switching[c] && !View.Lazy[c] && View.Loaded[c] == f.Mm && View.LocalTlbGen[c] < f.TlbGen)
                {
                    Report(in meta, c, f.Mm,
                        $"flush_tlb_mm_range(mm {f.Mm}) by CPU {f.Cpu} returns at tlb_gen {f.TlbGen}, but CPU {c} has the mm loaded, not lazy, at tlb_gen {View.LocalTlbGen[c]}",
                        task: View.Curr[c]);
                }
            }
        }
        else if (Is(in evt, out MmSwitched ms))
        {
            int c = ms.Cpu;
            if (ms.Prev == ms.Next && !ms.Cr3Written && ms.TlbGen != View.MmTlbGen(ms.Next))
            {
                Report(in meta, c, ms.Next, $"CPU {c} unlazies into mm {ms.Next} without a flush at tlb_gen {ms.TlbGen}; the mm is at {View.MmTlbGen(ms.Next)}",
                    task: View.Curr[c]);
            }
            if (_pendingGen[c] > 0 && ms.Next == _pendingMm[c] && ms.TlbGen < _pendingGen[c])
            {
                Report(in meta, c, ms.Next,
                    $"CPU {c} finishes switching to mm {ms.Next} at tlb_gen {ms.TlbGen}, after a flush to {_pendingGen[c]} returned without flushing it",
                    task: View.Curr[c], windowStart: _pendingSince[c]);
            }
            _pendingGen[c] = 0;
        }
    }
}
