namespace Twin.Kernel.Machine;

/// <summary>
/// A CPU's loads from the kernel's globals: a task's <c>mm</c>, process and kind, and who holds
/// <c>membarrier_ipi_mutex</c>. Read-only: writes are messages to the machine (<see cref="MachineOp"/>).
/// </summary>
public readonly struct MachineView(MachineActor machine)
{
    /// <summary>The task <paramref name="task"/> (its <c>mm</c>, tgid, PF_KTHREAD).</summary>
    public TaskInfo Task(int task) => machine.Tasks.Get(task);

    /// <summary>The CPU holding <c>membarrier_ipi_mutex</c>, or -1.</summary>
    public int IpiMutexOwner => machine.IpiMutexOwner;
}
