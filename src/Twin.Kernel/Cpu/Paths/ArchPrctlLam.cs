using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Ipi;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Mm;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// x86 LAM (kernel-model §7.1), arch/x86/kernel/process_64.c: arch_prctl(ARCH_ENABLE_TAGGED_ADDR /
// ARCH_GET_UNTAG_MASK / ARCH_GET_MAX_TAG_BITS) with the kernel's error order, mm_enable_lam()'s
// enable_lam_func IPI over mm_cpumask; the LAM bits switch_mm_irqs_off() loads with CR3
// (arch/x86/mm/tlb.c) and untagged_addr(). The mm's mask and lock are the mm actor's: stores this
// CPU waits for.
public sealed partial class CpuActor
{
    /// <summary>do_arch_prctl_64(option, arg) for LAM's options; the syscall returns its value.</summary>
    private async KernelPath ArchPrctl(Step step)
    {
        SyscallRecord? record = null;
        if (Kernel.RecordSyscalls)
        {
            record = new SyscallRecord(Current.Name, step.Index, step.Cmd, step.Target, -1, StepKind.ArchPrctl);
            Kernel.Syscalls.Add(record);
        }
        long ret = await ArchPrctlLam(step.Cmd, step.Target);
        Raise(new ArchPrctlReturned(Id, Curr, step.Cmd, step.Target, ret));
        if (record is not null)
        {
            record.Ret = ret;
            record.Returned = true;
        }
    }

    private async KernelPath<long> ArchPrctlLam(int option, long arg)
    {
        // These options exist on x86 only; elsewhere there is no arch_prctl for them.
        if (!_arch.IsX86) return -Errno.ENOSYS;
        int mm = CurrentMm;
        switch (option)
        {
            case ArchPrctlOption.GetUntagMask:
                return ArchPrctlOption.UntagMask(Mm(mm).LamBits);
            case ArchPrctlOption.GetMaxTagBits:
                return Kernel.Config.Lam ? ArchPrctlOption.LamU57Bits : 0;
            case ArchPrctlOption.EnableTaggedAddr:
                return await PrctlEnableTaggedAddr(mm, arg);
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>prctl_enable_tagged_addr(): ENODEV without the feature, EBUSY once locked, EINVAL for bad nr_bits, then mm_enable_lam().</summary>
    private async KernelPath<long> PrctlEnableTaggedAddr(int mm, long nrBits)
    {
        if (!Kernel.Config.Lam) return -Errno.ENODEV;
        // "MM_CONTEXT_LOCK_LAM is set on clone. Prevent LAM from being enabled unless the process is single threaded."
        if (Mm(mm).LamLocked) return -Errno.EBUSY;
        if (nrBits == 0 || nrBits > ArchPrctlOption.LamU57Bits) return -Errno.EINVAL;
        await MmEnableLam(mm);
        return 0;
    }

    /// <summary>
    /// mm_enable_lam(): the mm's mask set, then on_each_cpu_mask(mm_cpumask(mm), enable_lam_func,
    /// mm, true) ("kernel threads may be using the mm"; before 3b299b99, B13, write_cr3() and
    /// set_tlbstate_lam_mode() on this CPU only), then set_bit(MM_CONTEXT_LOCK_LAM).
    /// </summary>
    private async KernelPath MmEnableLam(int mm)
    {
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.EnableLam, Value: ArchPrctlOption.LamU57Bits));
        if (Kernel.Config.Has(BugSet.B13))
        {
            EnableLamFunc(mm, LamLoadReason.EnableLamLocal);
        }
        else
        {
            CpuMask targets = Mm(mm).Cpumask;
            BeginWait();
            for (int c = 0; c < Cpus; c++)
            {
                if (c != Id && targets.Test(c)) SendIpi(c, IpiKind.EnableLam, mm, 0);
            }
            if (targets.Test(Id)) RunLocalHandler(IpiKind.EnableLam, mm, 0);
            await CsdLockWait();
        }
        await KernelStep();
        await Store(MmRef(mm), new MmWrite(NextToken(), MmOp.LockLam));
    }

    /// <summary>enable_lam_func(): only where the mm is loaded (a switching CPU reads the new mask itself).</summary>
    private void EnableLamFunc(int mm, LamLoadReason reason)
    {
        if (State.LoadedMm != mm || State.Switching) return;
        int bits = Mm(mm).LamBits;
        Raise(new CpuLamLoaded(Id, mm, bits, bits, reason));
    }

    /// <summary>
    /// The LAM bits written with CR3 for <paramref name="next"/>, and cpu_tlbstate_update_lam(): one
    /// read of the mm's mask after mm_cpumask was set (so a concurrent mm_enable_lam either is
    /// read here or IPIs this CPU, L3); B14 takes CR3's bits from the read at the switch's start
    /// (<paramref name="lamBitsAtStart"/>). Journaled when the bits change; nothing without the LAM feature.
    /// </summary>
    private void LamOnCr3Write(int next, bool twoPhase, int lamBitsAtStart)
    {
        if (!Kernel.Config.Lam) return;
        int untag = LamBitsOf(next);
        int cr3 = twoPhase && Kernel.Config.Has(BugSet.B14) ? lamBitsAtStart : untag;
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

    private int LamBitsOf(int mm) => mm == KernelIds.InitMm || !Kernel.Config.Lam ? 0 : Mm(mm).LamBits;
}
