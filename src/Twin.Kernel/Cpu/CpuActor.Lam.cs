using Twin.Kernel.Events;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// x86 LAM (kernel-model §7.1): arch_prctl(ARCH_*_TAGGED_ADDR / UNTAG_MASK / MAX_TAG_BITS) with the
// kernel's error order, mm_enable_lam()'s enable_lam_func IPI over mm_cpumask, and the LAM bits
// switch_mm_irqs_off() loads with CR3.
public sealed partial class CpuActor
{
    private SyscallRecord? _lamRecord;
    private int _lamMm;
    private int _lamOption;
    private long _lamArg;

    /// <summary>LAM bits read at the start of a switch (B14 writes CR3 from this read and cpu_tlbstate from a later one).</summary>
    private int _lamBitsAtSwitchStart;

    private void ArchPrctl(Step step)
    {
        _lamOption = step.Cmd;
        _lamArg = step.Target;
        _lamRecord = null;
        if (_kernel.RecordSyscalls)
        {
            _lamRecord = new SyscallRecord(Current.Name, step.Index, step.Cmd, step.Target, -1, StepKind.ArchPrctl);
            _kernel.Syscalls.Add(_lamRecord);
        }
        // These options exist on x86 only; elsewhere there is no arch_prctl for them.
        if (!_arch.IsX86)
        {
            ArchPrctlReturn(-Errno.ENOSYS);
            return;
        }
        MmActor mm = _kernel.Mm(CurrentMm);
        switch (_lamOption)
        {
            case ArchPrctlOption.GetUntagMask:
                ArchPrctlReturn(ArchPrctlOption.UntagMask(mm.State.LamBits));
                break;
            case ArchPrctlOption.GetMaxTagBits:
                ArchPrctlReturn(_kernel.Config.Lam ? ArchPrctlOption.LamU57Bits : 0);
                break;
            case ArchPrctlOption.EnableTaggedAddr:
                EnableTaggedAddr(mm, _lamArg);
                break;
            default:
                ArchPrctlReturn(-Errno.EINVAL);
                break;
        }
    }

    /// <summary>prctl_enable_tagged_addr(): ENODEV without the feature, EBUSY once locked, EINVAL for bad nr_bits, then mm_enable_lam().</summary>
    private void EnableTaggedAddr(MmActor mm, long nrBits)
    {
        if (!_kernel.Config.Lam)
        {
            ArchPrctlReturn(-Errno.ENODEV);
            return;
        }
        // "MM_CONTEXT_LOCK_LAM is set on clone. Prevent LAM from being enabled unless the process is single threaded."
        if (mm.State.LamLocked)
        {
            ArchPrctlReturn(-Errno.EBUSY);
            return;
        }
        if (nrBits == 0 || nrBits > ArchPrctlOption.LamU57Bits)
        {
            ArchPrctlReturn(-Errno.EINVAL);
            return;
        }
        mm.EnableLam(ArchPrctlOption.LamU57Bits);
        _lamMm = mm.Id;
        if (_kernel.Config.Has(BugSet.B13))
        {
            // Before 3b299b99: write_cr3() and set_tlbstate_lam_mode() on this CPU only.
            EnableLamFunc(mm.Id, LamLoadReason.EnableLamLocal);
            ContinueAfter(StepNs(), CpuPhase.LamLock);
            return;
        }
        // on_each_cpu_mask(mm_cpumask(mm), enable_lam_func, mm, true): "kernel threads may be using the mm".
        CpuMask targets = mm.State.Cpumask;
        BeginWait(CpuPhase.LamWait);
        for (int c = 0; c < _kernel.Config.Cpus; c++)
        {
            if (!targets.Test(c)) continue;
            if (c == Id) RunLocalHandler(IpiKind.EnableLam, mm.Id, 0);
            else SendIpi(c, IpiKind.EnableLam, mm.Id, 0);
        }
        EndSending();
    }

    /// <summary>set_bit(MM_CONTEXT_LOCK_LAM) after the enable; arch_prctl returns 0.</summary>
    private void LamLock()
    {
        _kernel.Mm(_lamMm).LockLam();
        ArchPrctlReturn(0);
    }

    private void ArchPrctlReturn(long ret)
    {
        Persist(new ArchPrctlReturned(Id, State.Curr, _lamOption, _lamArg, ret));
        if (_lamRecord is not null)
        {
            _lamRecord.Ret = ret;
            _lamRecord.Returned = true;
            _lamRecord = null;
        }
        ContinueAfter(StepNs(), CpuPhase.SyscallExit);
    }

    /// <summary>enable_lam_func(): only where the mm is loaded (a switching CPU reads the new mask itself).</summary>
    private void EnableLamFunc(int mm, LamLoadReason reason)
    {
        if (State.LoadedMm != mm || State.Switching) return;
        int bits = _kernel.Mm(mm).State.LamBits;
        Persist(new CpuLamLoaded(Id, mm, bits, bits, reason));
    }

    /// <summary>switch_mm_irqs_off() starts switching to another mm: B14's first read of its LAM mask.</summary>
    private void LamSwitchStart(int next) => _lamBitsAtSwitchStart = LamBitsOf(next);

    /// <summary>
    /// The LAM bits written with CR3 for <paramref name="next"/>, and cpu_tlbstate_update_lam(): one
    /// read of the mm's mask after mm_cpumask was set (so a concurrent mm_enable_lam either is
    /// read here or IPIs this CPU, L3); B14 takes CR3's bits from the read at the switch's start.
    /// Journaled when the bits change; nothing without the LAM feature.
    /// </summary>
    private void LamOnCr3Write(int next, bool twoPhase)
    {
        if (!_kernel.Config.Lam) return;
        int untag = LamBitsOf(next);
        int cr3 = twoPhase && _kernel.Config.Has(BugSet.B14) ? _lamBitsAtSwitchStart : untag;
        if (cr3 == State.Cr3LamBits && untag == State.UntagLamBits) return;
        Persist(new CpuLamLoaded(Id, next, cr3, untag, LamLoadReason.SwitchMm));
    }

    /// <summary>
    /// untagged_addr() on a pointer the task passed in: the merged kernel uses this CPU's untag mask
    /// ("stable because the mask can only change while the process is single-threaded"); the 6.2
    /// policy (B15) read mm->context.untag_mask, which another thread's enable can change under it.
    /// </summary>
    private void UntagUserPointer()
    {
        if (!_kernel.Config.Lam) return;
        int mm = CurrentMm;
        int bits = _kernel.Config.Has(BugSet.B15) ? LamBitsOf(mm) : State.UntagLamBits;
        Persist(new UntaggedAddr(Id, State.Curr, mm, bits));
    }

    private int LamBitsOf(int mm) => mm == KernelIds.InitMm || !_kernel.Config.Lam ? 0 : _kernel.Mm(mm).State.LamBits;
}
