using Twin.Actors;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Ipi;
using Twin.Kernel.Machine;
using Twin.Kernel.Mm;
using Twin.Kernel.Tasks;
using Twin.Kernel.Text;

namespace Twin.Kernel;

/// <summary>
/// The simulated machine: how its actors find one another, plus the few pieces of shared kernel
/// memory that belong to no single actor (the membarrier IPI mutex, RCU's view of quiescent
/// states). A CPU reading <c>rq->curr</c> of another CPU, or setting a bit in an
/// <c>mm_cpumask</c>, acts at one instant on shared memory; the twin models that as a direct call
/// into the owning actor within the caller's step, which journals the change in the owner's
/// stream. Message passing (IPIs, wakeups, timers) is for everything that takes time. Nothing in
/// here decides anything: all choices come from the actor system's seeded random source.
/// </summary>
public sealed class Kernel
{
    private readonly Dictionary<int, MmActor> _mms = [];
    private readonly List<IpiActor> _ipis = [];
    private readonly Stack<IpiActor> _freeIpis = new();
    private readonly List<int> _processLeaders = [];
    private TaskRuntime?[] _runtimes = new TaskRuntime?[64];
    private ActorSystem? _system;
    private int _nextMm = 1;
    private int _nextTask = 1;

    public Kernel(KernelConfig config)
    {
        Config = config;
        Cpus = new CpuActor[config.Cpus];
        CpuRefs = new ActorRef[config.Cpus];
        QuiescentStates = new long[config.Cpus];
    }

    public KernelConfig Config { get; }

    /// <summary>The virtual clock, for observers (the shrinker notes when each step was handed out).</summary>
    public long NowNs => _system?.NowNs ?? 0;

    public MachineActor Machine { get; internal set; } = null!;

    public CpuActor[] Cpus { get; }

    public ActorRef[] CpuRefs { get; }

    /// <summary>Patchable kernel text and text_poke's state; null unless <c>textPoke</c> is configured.</summary>
    public TextActor? Text { get; internal set; }

    /// <summary>The run's fault injector; null without a fault plan.</summary>
    public FaultInjector? Faults { get; private set; }

    public IReadOnlyDictionary<int, MmActor> Mms => _mms;

    public TaskTable Tasks => Machine.Tasks;

    public int LiveTasks => Tasks.Live;

    /// <summary>The CPU holding <c>membarrier_ipi_mutex</c> (SERIALIZE_IPI), or -1.</summary>
    public int MembarrierIpiMutexOwner { get; set; } = -1;

    /// <summary>Per CPU, context switches so far: RCU's quiescent states (with user mode and idle).</summary>
    public long[] QuiescentStates { get; }

    /// <summary>Every membarrier call in issue order, when <see cref="RecordSyscalls"/> is set (scenarios).</summary>
    public List<SyscallRecord> Syscalls { get; } = [];

    public bool RecordSyscalls { get; set; }

    /// <summary>Sees every step and fork (the shrinker records runs this way); null normally.</summary>
    public IStepObserver? Observer { get; private set; }

    /// <summary>IPIs sent so far; IPI ids count from 1.</summary>
    public long IpisSent { get; private set; }

    public MmActor Mm(int mm)
    {
        Invariant.Assert(_mms.ContainsKey(mm), "known mm");
        return _mms[mm];
    }

    public TaskRuntime Runtime(int task)
    {
        TaskRuntime? r = task > 0 && task < _runtimes.Length ? _runtimes[task] : null;
        Invariant.Assert(r is not null, "a task that runs has a program");
        return r!;
    }

    internal void Register(MmActor mm) => _mms[mm.Id] = mm;

    /// <summary>Creates every actor of the machine; the workload starts as the system runs.</summary>
    public static Kernel Boot(ActorSystem system, KernelConfig config, IStepObserver? observer = null)
    {
        var kernel = new Kernel(config) { _system = system, Observer = observer };
        for (int c = 0; c < config.Cpus; c++)
        {
            int cpu = c;
            kernel.CpuRefs[cpu] = system.ActorOf(Props.Create(() => new CpuActor(kernel, cpu)), CpuActor.StreamOf(cpu));
        }
        system.ActorOf(Props.Create(() => new MachineActor(kernel)), MachineActor.Stream);
        if (config.TextPoke is not null) system.ActorOf(Props.Create(() => new TextActor(kernel)), TextActor.Stream);
        if (config.Faults.Count > 0)
        {
            kernel.Faults = new FaultInjector(config.Faults, system.Seed);
            foreach ((long atNs, int cpu) in kernel.Faults.StormInterrupts(config.Cpus)) system.ScheduleTellOnce(atNs, kernel.CpuRefs[cpu], new SpuriousIrq(Storm: true));
            foreach ((long atNs, int cpu) in kernel.Faults.StormNmis(config.Cpus)) system.ScheduleTellOnce(atNs, kernel.CpuRefs[cpu], new NmiArrived(Storm: true));
            foreach ((long atNs, int cpu, long downNs) in kernel.Faults.TimedHotplugs(config.Cpus)) system.ScheduleTellOnce(atNs, kernel.CpuRefs[cpu], new CpuHotplug(Online: false, downNs));
        }
        return kernel;
    }

    /// <summary>The actor owning a journal stream, for whole-run replay; null if the name is not a kernel stream.</summary>
    public Props? PropsForStream(string stream)
    {
        if (stream == MachineActor.Stream) return Props.Create(() => new MachineActor(this));
        if (stream == TextActor.Stream && Config.TextPoke is not null) return Props.Create(() => new TextActor(this));
        if (TryParse(stream, "cpu-", out int cpu) && cpu < Config.Cpus) return Props.Create(() => new CpuActor(this, cpu));
        if (TryParse(stream, "mm-", out int mm) && mm > 0) return Props.Create(() => new MmActor(this, mm, tgid: 0));
        if (TryParse(stream, "ipi-", out int slot)) return Props.Create(() => new IpiActor(this, slot));
        return null;
    }

    /// <summary>Creates the boot tasks (scenario tasks not started by a fork, or the random workload); returns their ids.</summary>
    internal List<int> CreateBootTasks(MachineActor machine)
    {
        var booted = new List<int>();
        if (Config.Tasks is { } specs)
        {
            RecordSyscalls = true;
            var leaders = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < specs.Count; i++)
            {
                TaskSpec s = specs[i];
                int id = i + 1;
                SetRuntime(new TaskRuntime(id, s.Name, new ScriptedProgram(s.Steps), s.Affinity));
                if (s.Process is not null && !leaders.ContainsKey(s.Process)) leaders[s.Process] = id;
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
                    machine.CreateTask(id, id, KernelIds.None, kthread: true);
                }
                else
                {
                    int tgid = leaders[s.Process];
                    if (!mmOfProcess.TryGetValue(s.Process, out int mm))
                    {
                        mmOfProcess[s.Process] = mm = SpawnMm(tgid, 0).Id;
                        _processLeaders.Add(tgid);
                    }
                    else
                    {
                        CopyThreadLocksLam(Mm(mm));
                        Mm(mm).UsersChanged(+1);
                    }
                    machine.CreateTask(id, tgid, mm, kthread: false);
                }
                booted.Add(id);
            }
            return booted;
        }
        WorkloadConfig w = Config.Workload;
        for (int p = 0; p < w.Processes; p++)
        {
            int tgid = _nextTask;
            MmActor mm = SpawnMm(tgid, 0);
            _processLeaders.Add(tgid);
            for (int t = 0; t < w.ThreadsPerProcess; t++)
            {
                int id = _nextTask++;
                if (t > 0)
                {
                    CopyThreadLocksLam(mm);
                    mm.UsersChanged(+1);
                }
                machine.CreateTask(id, tgid, mm.Id, kthread: false);
                Observer?.OnBoot(id, tgid, kthread: false);
                SetRuntime(new TaskRuntime(id, $"p{p}.t{t}", new RandomProgram(w, kthread: false, child: false, registers: t == 0, WorkloadRandom(id)), -1));
                booted.Add(id);
            }
        }
        for (int k = 0; k < w.Kthreads; k++)
        {
            int id = _nextTask++;
            machine.CreateTask(id, id, KernelIds.None, kthread: true);
            Observer?.OnBoot(id, id, kthread: true);
            SetRuntime(new TaskRuntime(id, $"kthread{k}", new RandomProgram(w, kthread: true, child: false, registers: false, WorkloadRandom(id)), -1));
            booted.Add(id);
        }
        return booted;
    }

    /// <summary><c>fork()</c> of a new process: a copy of the parent's mm (membarrier_state included) and one task; returns the child's id.</summary>
    internal int Fork(int parent, int reservedChild)
    {
        TaskInfo p = Tasks.Get(parent);
        int child = reservedChild > 0 ? reservedChild : _nextTask++;
        MmActor parentMm = Mm(p.Mm);
        MmActor mm = SpawnMm(child, parentMm.State.MembarrierState);
        if (Config.Lam)
        {
            // dup_mm() copies mm->context: dup_lam() the mask, the memcpy the LOCK_LAM flag.
            if (parentMm.State.LamBits != 0) mm.EnableLam(parentMm.State.LamBits);
            if (parentMm.State.LamLocked) mm.LockLam();
        }
        _processLeaders.Add(child);
        Machine.CreateTask(child, child, mm.Id, kthread: false);
        if (reservedChild <= 0)
        {
            SetRuntime(new TaskRuntime(child, $"child{child}", new RandomProgram(Config.Workload, kthread: false, child: true, registers: false, WorkloadRandom(child)), -1));
        }
        Observer?.OnFork(parent, child);
        return child;
    }

    /// <summary>
    /// clone(CLONE_VM | CLONE_THREAD) of <paramref name="parent"/>: task <paramref name="thread"/>
    /// (reserved by the scenario) becomes a new thread of its process, sharing the mm.
    /// </summary>
    internal int CloneThread(int parent, int thread)
    {
        TaskInfo p = Tasks.Get(parent);
        MmActor mm = Mm(p.Mm);
        CopyThreadLocksLam(mm);
        mm.UsersChanged(+1);
        Machine.CreateTask(thread, p.Tgid, mm.Id, kthread: false);
        return thread;
    }

    /// <summary>copy_thread(): a CLONE_VM (not vfork) child sets MM_CONTEXT_LOCK_LAM (journaled only with the LAM feature modelled).</summary>
    private void CopyThreadLocksLam(MmActor mm)
    {
        if (Config.Lam && !Config.Has(BugSet.B15)) mm.LockLam();
    }

    /// <summary>Task <paramref name="task"/>'s own random stream for its workload decisions, derived from the run's seed.</summary>
    private DeterministicRandom WorkloadRandom(int task) => new(_system!.Seed ^ (0x9E3779B97F4A7C15UL * (ulong)task));

    /// <summary>A fresh mm, e.g. for exec; returns its id.</summary>
    internal int NewMm(int tgid) => SpawnMm(tgid, 0).Id;

    /// <summary>The CPU a waking task goes to: its affinity, or one drawn at random; an online one if that is offline (select_fallback_rq()).</summary>
    public int WakeTargetCpu(int task, DeterministicRandom random)
    {
        int affinity = Runtime(task).Affinity;
        int cpu = affinity >= 0 ? affinity : random.NextInt(Config.Cpus);
        return Cpus[cpu].State.Online ? cpu : FallbackCpu(random);
    }

    /// <summary>An online CPU drawn at random (there is always one: the last cannot go offline).</summary>
    public int FallbackCpu(DeterministicRandom random)
    {
        int start = random.NextInt(Config.Cpus);
        for (int i = 0; i < Config.Cpus; i++)
        {
            int c = (start + i) % Config.Cpus;
            if (Cpus[c].State.Online) return c;
        }
        Invariant.Assert(false, "some CPU is online");
        return 0;
    }

    /// <summary>CPUs online and not on their way down.</summary>
    public int OnlineCpus() => Cpus.Count(c => c.State.Online && !c.GoingOffline);

    /// <summary>A process for a kthread to kthread_use_mm: tgid of a live one, or 0.</summary>
    public int RandomLiveProcess(DeterministicRandom random)
    {
        if (_processLeaders.Count == 0) return 0;
        int tgid = _processLeaders[random.NextInt(_processLeaders.Count)];
        return MmOfProcess(tgid) == KernelIds.None ? 0 : tgid;
    }

    /// <summary>The current mm of process <paramref name="tgid"/> if it has live users, else 0.</summary>
    public int MmOfProcess(int tgid)
    {
        if (!Tasks.Exists(tgid)) return KernelIds.None;
        TaskInfo leader = Tasks.Get(tgid);
        if (!leader.Alive || leader.Mm == KernelIds.None) return KernelIds.None;
        return Mm(leader.Mm).State.Users > 0 ? leader.Mm : KernelIds.None;
    }

    /// <summary>Sends an IPI through a free csd; the sender is acknowledged with <paramref name="waitToken"/> (0: no wait).</summary>
    internal void SendIpi(int from, int to, IpiKind kind, int mm, long tlbGen, long waitToken, long latencyNs)
    {
        IpiActor ipi;
        if (_freeIpis.Count > 0)
        {
            ipi = _freeIpis.Pop();
        }
        else
        {
            int slot = _ipis.Count;
            _system!.ActorOf(Props.Create(() => new IpiActor(this, slot)), IpiActor.StreamOf(slot));
            ipi = _ipis[slot];
        }
        ipi.Send(new IpiSent(++IpisSent, from, to, kind, mm, tlbGen), waitToken, latencyNs);
    }

    internal void RegisterIpi(IpiActor ipi)
    {
        while (_ipis.Count <= ipi.Slot) _ipis.Add(null!);
        _ipis[ipi.Slot] = ipi;
    }

    internal IpiActor IpiInSlot(int slot) => _ipis[slot];

    internal void ReleaseIpi(IpiActor ipi) => _freeIpis.Push(ipi);

    private MmActor SpawnMm(int tgid, int membarrierState)
    {
        int id = _nextMm++;
        _system!.ActorOf(Props.Create(() => new MmActor(this, id, tgid, membarrierState)), MmActor.StreamOf(id));
        return _mms[id];
    }

    private void SetRuntime(TaskRuntime runtime)
    {
        if (Observer is not null) runtime.Program = new ObservedProgram(runtime.Program, Observer, this);
        if (runtime.Task >= _runtimes.Length) Array.Resize(ref _runtimes, Math.Max(runtime.Task + 1, _runtimes.Length * 2));
        _runtimes[runtime.Task] = runtime;
    }

    private static bool TryParse(string stream, string prefix, out int n)
    {
        n = -1;
        return stream.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(stream.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n);
    }
}
