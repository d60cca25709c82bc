namespace Twin.Kernel.Sites;

/// <summary>
/// One place in the kernel model that runs a full memory barrier or a core-serializing event.
/// A <see cref="Events.BarrierReason"/> or <see cref="Events.CoreSerializeReason"/> says what the
/// instruction is; a site says where it runs, so that one call site can be left out while the
/// others of the same reason stay (<c>omit</c>, <c>twin mutate</c>). Sites are not journaled.
/// Names, kernel sources and architectures are in <see cref="SiteCatalog"/>.
/// </summary>
public enum OrderingSite : byte
{
    None = 0,

    // Full barriers.
    SchedSpinlock,
    SwitchMmCpumask,
    SwitchMmCr3Barrier,
    SwitchMmTlbGenBarrier,
    LeaveMmCr3Barrier,
    ArchSwitchMm,
    SwitchTo,
    FinishTaskSwitchMmdrop,
    KthreadUseMmMmdrop,
    KthreadUnuseMm,
    ExitMm,
    ExecMmap,
    MembarrierEntry,
    MembarrierExit,
    IpiMb,
    IpiSyncCoreBarrier,
    IpiRseqBarrier,
    IpiSyncRqStateBarrier,
    RegisterSync,
    IncTlbGen,
    RegisterAtomicOr,

    // Core-serializing events.
    SwitchMmCr3Serialize,
    LeaveMmCr3Serialize,
    SwitchMmFenceI,
    FinishTaskSwitchSyncCore,
    KthreadUseMmSyncCore,
    IpiSyncCoreSerialize,
    IrqReturnIret,
    IrqReturnEret,
    UserReturnIret,
    UserReturnEret,
    UserReturnPtiCr3,
    ExceptionIret,
    DoSyncCore,
    CtWorkSync,
    CpuBoot,
}
