using Akka.Actor;
using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Machine;

/// <summary>
/// The kernel's globals (stream "machine"): the task table (task creation at boot and by fork and
/// clone, <c>task->mm</c> changes, deaths), the pid and mm id spaces, and
/// <c>membarrier_ipi_mutex</c>. At boot it creates the workload's tasks and their mms and wakes
/// each task on its CPU (its affinity, or a random one). Who holds the mutex is driver state, as
/// the locks of the kernel text are: re-execution reproduces it; the state hash leaves it out.
/// </summary>
public sealed class MachineActor : KernelActor
{
    public const string StreamName = "machine";

    private readonly List<int> _processLeaders = [];
    private readonly List<TaskCreated> _toCreate = [];
    private readonly List<int> _toWake = [];
    private int _nextMm = 1;
    private int _nextTask = 1;

    public MachineActor(KernelModel kernel) : base(kernel, StreamName)
    {
        kernel.Machine = this;
        ApplyWith<TaskCreated>(Tasks.Apply);
        ApplyWith<TaskMmChanged>(Tasks.Apply);
        ApplyWith<TaskExited>(Tasks.Apply);
    }

    public TaskTable Tasks { get; } = new();

    /// <summary>Thread-group leaders of every process ever created (kthread_use_mm picks among them).</summary>
    public IReadOnlyList<int> ProcessLeaders => _processLeaders;

    /// <summary>The CPU holding <c>membarrier_ipi_mutex</c> (SERIALIZE_IPI), or -1.</summary>
    public int IpiMutexOwner { get; private set; } = -1;

    public override void HashState(ref StateHasher hasher) => Tasks.Hash(ref hasher);

    /// <summary>Boot: the workload's mms first, then (a step later, once they exist) its tasks, woken on their CPUs.</summary>
    protected override void Start()
    {
        _toWake.AddRange(PlanBootTasks());
        Self.Tell(new CreateBootTasks(), Self);
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case CreateBootTasks:
                foreach (TaskCreated t in _toCreate) Raise(t);
                _toCreate.Clear();
                foreach (int task in _toWake) Kernel.RqRefs[Kernel.WakeTargetCpu(task, Random)].Tell(new TaskWakeup(task));
                _toWake.Clear();
                return;
            case CreateForkedTask forked:
                Raise(forked.Child);
                Kernel.Observer?.OnFork(forked.Parent, forked.Child.Task);
                Sender.Tell(new Done(forked.Token, forked.Child.Task), Self);
                return;
        }
        if (message is not MachineOp op)
        {
            Unhandled(message);
            return;
        }
        long reply = 0;
        switch (op.Kind)
        {
            case MachineOpKind.Fork:
                // The child task is created, and the caller answered, once the child's mm exists.
                Self.Tell(new CreateForkedTask(op.Token, op.Task, Fork(op.Task, op.Arg)), Sender);
                return;
            case MachineOpKind.Clone:
                TaskInfo parent = Tasks.Get(op.Task);
                Raise(new TaskCreated(op.Arg, parent.Tgid, parent.Mm, Kthread: false));
                break;
            case MachineOpKind.NewMm:
                reply = SpawnMm(new MmStart(op.Arg, 0, 1, 0, false));
                break;
            case MachineOpKind.SetTaskMm:
                Raise(new TaskMmChanged(op.Task, op.Arg, op.Reason));
                break;
            case MachineOpKind.TaskDied:
                Raise(new TaskExited(op.Task));
                break;
            case MachineOpKind.TryLockIpiMutex:
                if (IpiMutexOwner < 0 || IpiMutexOwner == op.Arg)
                {
                    IpiMutexOwner = op.Arg;
                    reply = 1;
                }
                break;
            case MachineOpKind.UnlockIpiMutex:
                if (IpiMutexOwner == op.Arg) IpiMutexOwner = -1;
                break;
        }
        Answer(op.Token, reply);
    }

    /// <summary>fork() of a new process: dup_mm() copies membarrier_state and mm->context (LAM's mask and lock); returns the child task to create.</summary>
    private TaskCreated Fork(int parent, int reservedChild)
    {
        TaskInfo p = Tasks.Get(parent);
        int child = reservedChild > 0 ? reservedChild : _nextTask++;
        MmState parentMm = Kernel.Mm(p.Mm).State;
        bool lam = Kernel.Config.Lam;
        int mm = SpawnMm(new MmStart(child, parentMm.MembarrierState, 1, lam ? parentMm.LamBits : 0, lam && parentMm.LamLocked));
        _processLeaders.Add(child);
        if (reservedChild <= 0)
        {
            Kernel.SetRuntime(new TaskRuntime(child, $"child{child}",
                new RandomProgram(Kernel.Config.Workload, kthread: false, child: true, registers: false, Kernel.WorkloadRandom(child)), -1));
        }
        return new TaskCreated(child, child, mm, Kthread: false);
    }

    /// <summary>A fresh mm's id; its actor starts (and journals its creation) before any other CPU runs.</summary>
    private int SpawnMm(MmStart start)
    {
        int id = _nextMm++;
        Kernel.SpawnMm(Context, id, start);
        return id;
    }

    /// <summary>Plans the boot tasks (scenario tasks not started by a fork, or the random workload) and creates their mms; returns the tasks' ids.</summary>
    private List<int> PlanBootTasks()
    {
        KernelConfig config = Kernel.Config;
        // copy_thread(): a CLONE_VM thread sets MM_CONTEXT_LOCK_LAM (journaled only with the LAM feature modelled).
        bool threadsLockLam = config.Lam && !config.Has(BugSet.B15);
        return config.Tasks is { } specs ? PlanScenarioTasks(specs, threadsLockLam) : PlanRandomWorkload(config.Workload, threadsLockLam);
    }

    /// <summary>A scenario's tasks: every task's program first (ids in file order), then the boot tasks and one mm per process.</summary>
    private List<int> PlanScenarioTasks(IReadOnlyList<TaskSpec> specs, bool threadsLockLam)
    {
        var booted = new List<int>();
        Kernel.RecordSyscalls = true;
        var leaders = new Dictionary<string, int>(StringComparer.Ordinal);
        var threads = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < specs.Count; i++)
        {
            TaskSpec s = specs[i];
            int id = i + 1;
            Kernel.SetRuntime(new TaskRuntime(id, s.Name, new ScriptedProgram(s.Steps), s.Affinity));
            if (s.Process is null) continue;
            if (!leaders.ContainsKey(s.Process)) leaders[s.Process] = id;
            if (!s.ForkedBy) threads[s.Process] = threads.GetValueOrDefault(s.Process) + 1;
        }
        _nextTask = specs.Count + 1;
        var mmOfProcess = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < specs.Count; i++)
        {
            TaskSpec s = specs[i];
            if (s.ForkedBy) continue;
            int id = i + 1;
            if (s.Process is null)
            {
                _toCreate.Add(new TaskCreated(id, id, KernelIds.None, Kthread: true));
            }
            else
            {
                int tgid = leaders[s.Process];
                if (!mmOfProcess.TryGetValue(s.Process, out int mm))
                {
                    int users = threads[s.Process];
                    mmOfProcess[s.Process] = mm = SpawnMm(new MmStart(tgid, 0, users, 0, threadsLockLam && users > 1));
                    _processLeaders.Add(tgid);
                }
                _toCreate.Add(new TaskCreated(id, tgid, mm, Kthread: false));
            }
            booted.Add(id);
        }
        return booted;
    }

    /// <summary>The random workload's processes (an mm each, then its threads) and kernel threads.</summary>
    private List<int> PlanRandomWorkload(WorkloadConfig w, bool threadsLockLam)
    {
        var booted = new List<int>();
        for (int p = 0; p < w.Processes; p++)
        {
            int tgid = _nextTask;
            int mm = SpawnMm(new MmStart(tgid, 0, w.ThreadsPerProcess, 0, threadsLockLam && w.ThreadsPerProcess > 1));
            _processLeaders.Add(tgid);
            for (int t = 0; t < w.ThreadsPerProcess; t++)
            {
                int id = _nextTask++;
                _toCreate.Add(new TaskCreated(id, tgid, mm, Kthread: false));
                Kernel.Observer?.OnBoot(id, tgid, kthread: false);
                Kernel.SetRuntime(new TaskRuntime(id, $"p{p}.t{t}",
                    new RandomProgram(w, kthread: false, child: false, registers: t == 0, Kernel.WorkloadRandom(id)), -1));
                booted.Add(id);
            }
        }
        for (int k = 0; k < w.Kthreads; k++)
        {
            int id = _nextTask++;
            _toCreate.Add(new TaskCreated(id, id, KernelIds.None, Kthread: true));
            Kernel.Observer?.OnBoot(id, id, kthread: true);
            Kernel.SetRuntime(new TaskRuntime(id, $"kthread{k}",
                new RandomProgram(w, kthread: true, child: false, registers: false, Kernel.WorkloadRandom(id)), -1));
            booted.Add(id);
        }
        return booted;
    }
}
