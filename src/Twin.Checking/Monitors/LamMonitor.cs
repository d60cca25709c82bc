using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Lam;

namespace Twin.Checking.Monitors;

/// <summary>
/// x86 LAM, kernel-model §7.1. L1: an mm's LAM goes from off to LAM_U57 once, only while
/// MM_CONTEXT_LOCK_LAM is clear, and creating a CLONE_VM thread sets the lock. L2: a thread of
/// an mm returns to user mode with CR3's LAM bits and the per-CPU untag mask equal to the mm's.
/// L3: every CPU that had the mm loaded when mm_enable_lam() ran has the new bits before
/// arch_prctl returns (the enable_lam_func IPI over mm_cpumask). L4: CR3's bits and
/// cpu_tlbstate's come from one read. L5: untagged_addr() strips the bits this CPU's hardware
/// masks (it reads the per-CPU copy, stable while threads run; not the mm's, which can change).
/// </summary>
public sealed class LamMonitor(MachineFacts facts) : Monitor
{
    private readonly int[] _cr3 = new int[Limits.MaxCpus];
    private readonly int[] _untag = new int[Limits.MaxCpus];
    private readonly Dictionary<int, int> _mmBits = [];
    private readonly HashSet<int> _locked = [];
    private readonly Dictionary<int, int> _threads = [];

    /// <summary>Per mm being enabled: the CPUs that had it loaded and still owe the new bits.</summary>
    private readonly Dictionary<int, CpuMask> _owed = [];

    public override string Property => "L2";

    public override string Guarantee =>
        "x86 LAM: \"MM_CONTEXT_LOCK_LAM is set on clone. Prevent LAM from being enabled unless the process is single threaded\"; " +
        "mm_enable_lam(): \"kernel threads may be using the mm. IPI those kernel threads if they exist\"; every return to user runs " +
        "with CR3's LAM bits and cpu_tlbstate's untag mask equal to the mm's, both from one read";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out MmLamEnabled en)) Enabled(in meta, en);
        else if (Is(in evt, out MmLamLocked lk)) _locked.Add(lk.Mm);
        else if (Is(in evt, out CpuLamLoaded ld)) Loaded(in meta, ld);
        else if (Is(in evt, out MmSwitched ms) && ms.Next != ms.Prev) Settle(ms.Cpu, ms.Prev);
        else if (Is(in evt, out ReturnedToUser ru)) ReturnToUser(in meta, ru);
        else if (Is(in evt, out ArchPrctlReturned ap)) PrctlReturned(in meta, ap);
        else if (Is(in evt, out UntaggedAddr ua) && ua.Bits != _cr3[ua.Cpu])
        {
            Report(in meta, ua.Cpu, ua.Mm,
                $"untagged_addr() on CPU {ua.Cpu} strips {ua.Bits} tag bits from task {ua.Task}'s pointer while the CPU's CR3 masks {_cr3[ua.Cpu]}: the kernel and the hardware disagree on the address",
                task: ua.Task, property: "L5");
        }
        else if (Is(in evt, out TaskCreated tc) && !tc.Kthread) ThreadCreated(in meta, tc);
        else if (Is(in evt, out TaskExited te)) ThreadExited(View.TaskMm(te.Task));
        else if (Is(in evt, out TaskMmChanged tm) && !View.IsKthread(tm.Task))
        {
            ThreadExited(View.TaskMm(tm.Task)); // exec moves the thread to a fresh mm
            if (tm.Mm != KernelIds.None) _threads[tm.Mm] = _threads.GetValueOrDefault(tm.Mm) + 1;
        }
    }

    private void Enabled(in EventMeta meta, MmLamEnabled en)
    {
        if (_mmBits.GetValueOrDefault(en.Mm) != 0 || _locked.Contains(en.Mm))
        {
            Report(in meta, -1, en.Mm, $"mm {en.Mm}'s LAM changes after it was {(_locked.Contains(en.Mm) ? "locked" : "enabled")}", property: "L1");
        }
        _mmBits[en.Mm] = en.Bits;
        CpuMask owed = CpuMask.Empty;
        for (int c = 0; c < View.Cpus; c++)
        {
            if (View.Loaded[c] == en.Mm && !View.Switching[c]) owed = owed.With(c);
        }
        _owed[en.Mm] = owed;
    }

    private void Loaded(in EventMeta meta, CpuLamLoaded ld)
    {
        if (ld.Cr3Bits != ld.UntagBits)
        {
            Report(in meta, ld.Cpu, ld.Mm, $"CPU {ld.Cpu} loads {ld.Cr3Bits} LAM bits into CR3 but {ld.UntagBits} into cpu_tlbstate for mm {ld.Mm}: two reads of the mm's mask", property: "L4");
        }
        _cr3[ld.Cpu] = ld.Cr3Bits;
        _untag[ld.Cpu] = ld.UntagBits;
        if (ld.Cr3Bits == _mmBits.GetValueOrDefault(ld.Mm) && ld.UntagBits == ld.Cr3Bits) Settle(ld.Cpu, ld.Mm);
    }

    /// <summary>The CPU no longer owes the enable of <paramref name="mm"/> its bits: it has them, or it left the mm.</summary>
    private void Settle(int cpu, int mm)
    {
        if (_owed.TryGetValue(mm, out CpuMask owed)) _owed[mm] = owed.Without(cpu);
    }

    private void ReturnToUser(in EventMeta meta, ReturnedToUser ru)
    {
        int mm = View.TaskMm(ru.Task);
        int bits = _mmBits.GetValueOrDefault(mm);
        if (_cr3[ru.Cpu] == bits && _untag[ru.Cpu] == bits) return;
        Report(in meta, ru.Cpu, mm,
            $"task {ru.Task} returns to user mode on CPU {ru.Cpu} with {_cr3[ru.Cpu]} LAM bits in CR3 and {_untag[ru.Cpu]} in the untag mask, but mm {mm} has {bits}",
            task: ru.Task);
    }

    private void PrctlReturned(in EventMeta meta, ArchPrctlReturned ap)
    {
        if (ap.Option != ArchPrctlOption.EnableTaggedAddr || ap.Ret != 0) return;
        int mm = View.TaskMm(ap.Task);
        if (!_owed.Remove(mm, out CpuMask owed)) return;
        for (int c = 0; c < View.Cpus; c++)
        {
            if (!owed.Test(c)) continue;
            Report(in meta, c, mm,
                $"arch_prctl(ARCH_ENABLE_TAGGED_ADDR) returns on CPU {ap.Cpu}, but CPU {c}, which had mm {mm} loaded when LAM was enabled, still runs with {_cr3[c]} LAM bits",
                task: ap.Task, property: "L3");
        }
    }

    private void ThreadCreated(in EventMeta meta, TaskCreated tc)
    {
        int threads = _threads.GetValueOrDefault(tc.Mm);
        _threads[tc.Mm] = threads + 1;
        if (facts.Lam && threads > 0 && !_locked.Contains(tc.Mm))
        {
            Report(in meta, -1, tc.Mm, $"task {tc.Task} is created as a thread of mm {tc.Mm} without MM_CONTEXT_LOCK_LAM set (copy_thread)", task: tc.Task, property: "L1");
        }
    }

    private void ThreadExited(int mm)
    {
        if (mm != KernelIds.None && _threads.TryGetValue(mm, out int n)) _threads[mm] = n - 1;
    }
}
