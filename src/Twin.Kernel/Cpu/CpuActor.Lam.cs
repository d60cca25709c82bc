using Twin.Kernel.Events;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// x86 LAM (kernel-model §7.1): arch_prctl(ARCH_*_TAGGED_ADDR / UNTAG_MASK / MAX_TAG_BITS) with the
// kernel's error order, mm_enable_lam()'s enable_lam_func IPI over mm_cpumask, and the LAM bits
// switch_mm_irqs_off() loads with CR3. The mm's mask and lock are the mm actor's: stores this
// CPU waits for.
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
        if (Kernel.RecordSyscalls)
        {
            _lamRecord = new SyscallRecord(Current.Name, step.Index, step.Cmd, step.Target, -1, StepKind.ArchPrctl);
            Kernel.Syscalls.Add(_lamRecord);
        }
        // These options exist on x86 only; elsewhere there is no arch_prctl for them.
        if (!_arch.IsX86)
        {
            ArchPrctlReturn(-Errno.ENOSYS);
            return;
        }
        MmActor mm = Kernel.Mm(CurrentMm);
        switch (_lamOption)
        {
            case ArchPrctlOption.GetUntagMask:
                ArchPrctlReturn(ArchPrctlOption.UntagMask(mm.State.LamBits));
                break;
            case ArchPrctlOption.GetMaxTagBits:
                ArchPrctlReturn(Kernel.Config.Lam ? ArchPrctlOption.LamU57Bits : 0);
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
        if (!Kernel.Config.Lam)
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
        _lamMm = mm.Id;
        Store(Kernel.MmRef(mm.Id), new MmWrite(NextToken(), MmOp.EnableLam, Value: ArchPrctlOption.LamU57Bits), CpuPhase.LamEnabled);
    }

    /// <summary>The mm's LAM mask is set: make CPUs running it load it.</summary>
    private void LamEnabled()
    {
        if (Kernel.Config.Has(BugSet.B13))
        {
            // Before 3b299b99: write_cr3() and set_tlbstate_lam_mode() on this CPU only.
            EnableLamFunc(_lamMm, LamLoadReason.EnableLamLocal);
            ContinueAfter(StepNs(), CpuPhase.LamLock);
            return;
        }
        // on_each_cpu_mask(mm_cpumask(mm), enable_lam_func, mm, true): "kernel threads may be using the mm".
        CpuMask targets = Kernel.Mm(_lamMm).State.Cpumask;
        BeginWait(CpuPhase.LamWait);
        for (int c = 0; c < Kernel.Config.Cpus; c++)
        {
            if (c != Id && targets.Test(c)) SendIpi(c, IpiKind.EnableLam, _lamMm, 0);
        }
        if (targets.Test(Id)) RunLocalHandler(IpiKind.EnableLam, _lamMm, 0);
        EndSending();
    }

    /// <summary>set_bit(MM_CONTEXT_LOCK_LAM) after the enable; arch_prctl returns 0.</summary>
    private void LamLock() => Store(Kernel.MmRef(_lamMm), new MmWrite(NextToken(), MmOp.LockLam), CpuPhase.LamLocked);

    private void ArchPrctlReturn(long ret)
    {
        Raise(new ArchPrctlReturned(Id, Curr, _lamOption, _lamArg, ret));
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
        int bits = Kernel.Mm(mm).State.LamBits;
        Raise(new CpuLamLoaded(Id, mm, bits, bits, reason));
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
        if (!Kernel.Config.Lam) return;
        int untag = LamBitsOf(next);
        int cr3 = twoPhase && Kernel.Config.Has(BugSet.B14) ? _lamBitsAtSwitchStart : untag;
        if (cr3 == State.Cr3LamBits && untag == State.UntagLamBits) return;
        Raise(new CpuLamLoaded(Id, next, cr3, untag, LamLoadReason.SwitchMm));
    }

    /// <summary>
    /// untagged_addr() on a pointer the task passed in: the merged kernel uses this CPU's untag mask
    /// ("stable because the mask can only change while the process is single-threaded"); the 6.2
    /// policy (B15) read mm->context.untag_mask, which another thread's enable can change under it.
    /// </summary>
    private void UntagUserPointer()
    {
        if (!Kernel.Config.Lam) return;
        int mm = CurrentMm;
        int bits = Kernel.Config.Has(BugSet.B15) ? LamBitsOf(mm) : State.UntagLamBits;
        Raise(new UntaggedAddr(Id, Curr, mm, bits));
    }

    private int LamBitsOf(int mm) => mm == KernelIds.InitMm || !Kernel.Config.Lam ? 0 : Kernel.Mm(mm).State.LamBits;
}
