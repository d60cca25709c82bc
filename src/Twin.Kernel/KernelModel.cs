using Akka.Actor;
using Twin.Actors;
using Twin.Actors.Runtime;
using Twin.Kernel.Cpu;
using Twin.Kernel.Faults;
using Twin.Kernel.Ipi;
using Twin.Kernel.Machine;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;
using Twin.Kernel.Text;

namespace Twin.Kernel;

/// <summary>
/// The simulated machine's description and directory: its config, where each actor is (to send
/// it a message, or to read its state at an instant, as a CPU loads another CPU's rq->curr), and
/// the tasks' programs. It holds no kernel state of its own: every piece of kernel memory belongs
/// to one actor (a CPU, a runqueue, an mm, a csd, the machine's task table, the kernel text),
/// which alone changes it, through its own events; others write to it by message (docs/model.md).
/// Nothing in here decides anything: all choices come from the run's seeded random source.
/// (Named KernelModel, not Kernel: inside namespace Twin.Kernel a class Kernel read as Kernel.Kernel.)
/// </summary>
public sealed class KernelModel
{
    // By id: mm ids and task ids are handed out in order, csd slots are below Cpus²; these are
    // looked up on the CPUs' per-message paths.
    private MmActor?[] _mms = new MmActor?[64];
    private IActorRef?[] _mmRefs = new IActorRef?[64];
    private readonly IpiActor?[] _csds;
    private TaskRuntime?[] _runtimes = new TaskRuntime?[64];

    /// <param name="replica">The actors only rebuild their state from a journal (whole-run replay): after recovery they do nothing.</param>
    public KernelModel(KernelConfig config, bool replica = false)
    {
        Config = config;
        IsReplica = replica;
        Cpus = new CpuActor[config.Cpus];
        CpuRefs = new IActorRef[config.Cpus];
        Rqs = new RunqueueActor[config.Cpus];
        RqRefs = new IActorRef[config.Cpus];
        _csds = new IpiActor?[config.Cpus * config.Cpus];
    }

    public KernelConfig Config { get; }

    public bool IsReplica { get; }

    /// <summary>The run loop the actors run on (their clock and random source); set by <see cref="Boot"/>.</summary>
    public RunLoop Loop { get; private set; } = null!;

    /// <summary>The virtual clock, for observers (the shrinker notes when each step was handed out).</summary>
    public long NowNs => Loop?.NowNs ?? 0;

    public CpuActor[] Cpus { get; }

    public IActorRef[] CpuRefs { get; }

    public RunqueueActor[] Rqs { get; }

    public IActorRef[] RqRefs { get; }

    public MachineActor Machine { get; internal set; } = null!;

    public IActorRef MachineRef { get; private set; } = ActorRefs.Nobody;

    /// <summary>Patchable kernel text and text_poke's state; null unless <c>textPoke</c> is configured.</summary>
    public TextActor? Text { get; internal set; }

    public IActorRef TextRef { get; private set; } = ActorRefs.Nobody;

    /// <summary>The run's fault injector; null without a fault plan.</summary>
    public FaultInjector? Faults { get; private set; }

    public TaskTable Tasks => Machine.Tasks;

    /// <summary>How many times the model reached a site the config leaves out (<see cref="KernelConfig.Omit"/>): a removal never reached tests nothing.</summary>
    public long OmittedReached { get; private set; }

    /// <summary>True when <paramref name="site"/> is left out of this run (and counts the reach).</summary>
    internal bool Omits(Sites.OrderingSite site)
    {
        if (!Config.Omit.Contains(site)) return false;
        OmittedReached++;
        return true;
    }

    public int LiveTasks => Tasks.Live;

    /// <summary>Every membarrier call in issue order, when <see cref="RecordSyscalls"/> is set (scenarios).</summary>
    public List<SyscallRecord> Syscalls { get; } = [];

    public bool RecordSyscalls { get; set; }

    /// <summary>Sees every step and fork (the shrinker records runs this way); null normally.</summary>
    public IStepObserver? Observer { get; private set; }

    public MmActor Mm(int mm) => Known(_mms, mm, "known mm");

    public IActorRef MmRef(int mm) => Known(_mmRefs, mm, "known mm");

    /// <summary>The csd in slot <paramref name="slot"/> (<see cref="IpiActor.SlotOf"/>).</summary>
    public IpiActor Csd(int slot) => Known(_csds, slot, "a csd that was queued");

    public TaskRuntime Runtime(int task) => Known(_runtimes, task, "a task that runs has a program");

    private static T Known<T>(T?[] byId, int id, string what) where T : class
    {
        T? known = (uint)id < (uint)byId.Length ? byId[id] : null;
        Invariant.Assert(known is not null, what);
        return known!;
    }

    private static void Set<T>(ref T?[] byId, int id, T value) where T : class
    {
        if (id >= byId.Length) Array.Resize(ref byId, Math.Max(id + 1, byId.Length * 2));
        byId[id] = value;
    }

    /// <summary>Creates every actor of the machine on <paramref name="system"/>; the workload starts as the loop runs.</summary>
    public static KernelModel Boot(ActorSystem system, KernelConfig config, IStepObserver? observer = null, bool replica = false)
    {
        var kernel = new KernelModel(config, replica) { Observer = observer };
        kernel.Attach(system);
        if (replica) return kernel;
        for (int c = 0; c < config.Cpus; c++)
        {
            int cpu = c;
            kernel.RqRefs[cpu] = system.ActorOf(ActorFactory.Props(() => new RunqueueActor(kernel, cpu)), RunqueueActor.StreamOf(cpu));
            kernel.CpuRefs[cpu] = system.ActorOf(ActorFactory.Props(() => new CpuActor(kernel, cpu)), CpuActor.StreamOf(cpu));
        }
        if (config.TextPoke is not null) kernel.TextRef = system.ActorOf(ActorFactory.Props(() => new TextActor(kernel)), TextActor.StreamName);
        kernel.MachineRef = system.ActorOf(ActorFactory.Props(() => new MachineActor(kernel)), MachineActor.StreamName);
        if (config.Faults.Count > 0)
        {
            RunLoop loop = kernel.Loop;
            kernel.Faults = new FaultInjector(config.Faults, loop.Seed);
            foreach ((long atNs, int cpu) in kernel.Faults.StormInterrupts(config.Cpus)) loop.Scheduler.ScheduleTellOnceNs(atNs, kernel.CpuRefs[cpu], new SpuriousIrq(Storm: true), null);
            foreach ((long atNs, int cpu) in kernel.Faults.StormNmis(config.Cpus)) loop.Scheduler.ScheduleTellOnceNs(atNs, kernel.CpuRefs[cpu], new NmiArrived(Storm: true), null);
            foreach ((long atNs, int cpu, long downNs) in kernel.Faults.TimedHotplugs(config.Cpus)) loop.Scheduler.ScheduleTellOnceNs(atNs, kernel.CpuRefs[cpu], new CpuHotplug(Online: false, downNs), null);
        }
        return kernel;
    }

    private void Attach(ActorSystem system)
    {
        _system = system;
        Loop = RunLoop.Of(system);
    }

    private ActorSystem? _system;

    /// <summary>
    /// Whole-run replay: starts the actor that owns <paramref name="stream"/> (its recovery then
    /// waits for the stored events); false if the name is not a kernel stream.
    /// </summary>
    public bool StartReplica(string stream)
    {
        ActorSystem system = _system!;
        Props? props = null;
        if (stream == MachineActor.StreamName) props = ActorFactory.Props(() => new MachineActor(this));
        else if (stream == TextActor.StreamName && Config.TextPoke is not null) props = ActorFactory.Props(() => new TextActor(this));
        else if (TryParse(stream, "cpu-", out int cpu) && cpu < Config.Cpus) props = ActorFactory.Props(() => new CpuActor(this, cpu));
        else if (TryParse(stream, "rq-", out int rq) && rq < Config.Cpus) props = ActorFactory.Props(() => new RunqueueActor(this, rq));
        else if (TryParse(stream, "mm-", out int mm) && mm > 0) props = ActorFactory.Props(() => new MmActor(this, mm, MmStart.Replica));
        else if (TryParse(stream, "ipi-", out int slot) && slot < Config.Cpus * Config.Cpus) props = ActorFactory.Props(() => new IpiActor(this, slot));
        if (props is null) return false;
        system.ActorOf(props, stream);
        return true;
    }

    /// <summary>Creates the actor of a new mm (boot, fork, exec) with what it starts with; its events follow as it starts.</summary>
    internal IActorRef SpawnMm(IActorContext by, int mm, MmStart start)
    {
        IActorRef actor = by.System.ActorOf(ActorFactory.Props(() => new MmActor(this, mm, start)), MmActor.StreamOf(mm));
        Set(ref _mmRefs, mm, actor);
        return actor;
    }

    /// <summary>The csd of <paramref name="from"/> for <paramref name="to"/> (cfd_data's per-CPU csd), created at its first use.</summary>
    internal IActorRef CsdFor(IActorContext by, int from, int to, ref IActorRef?[]? cache)
    {
        cache ??= new IActorRef?[Config.Cpus];
        if (cache[to] is { } known) return known;
        int slot = IpiActor.SlotOf(from, to, Config.Cpus);
        IActorRef actor = by.System.ActorOf(ActorFactory.Props(() => new IpiActor(this, slot)), IpiActor.StreamOf(slot));
        cache[to] = actor;
        return actor;
    }

    internal void Register(MmActor mm) => Set(ref _mms, mm.Id, mm);

    internal void Register(IpiActor csd) => _csds[csd.Slot] = csd;

    internal void Register(CpuActor cpu) => Cpus[cpu.Id] = cpu;

    internal void Register(RunqueueActor rq) => Rqs[rq.Cpu] = rq;

    internal void RegisterRef(string stream, IActorRef self)
    {
        if (TryParse(stream, "mm-", out int mm)) Set(ref _mmRefs, mm, self);
        else if (TryParse(stream, "cpu-", out int cpu)) CpuRefs[cpu] = self;
        else if (TryParse(stream, "rq-", out int rq)) RqRefs[rq] = self;
        else if (stream == MachineActor.StreamName) MachineRef = self;
        else if (stream == TextActor.StreamName) TextRef = self;
    }

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
        IReadOnlyList<int> leaders = Machine.ProcessLeaders;
        if (leaders.Count == 0) return 0;
        int tgid = leaders[random.NextInt(leaders.Count)];
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

    /// <summary>Task <paramref name="task"/>'s own random stream for its workload decisions, derived from the run's seed.</summary>
    internal DeterministicRandom WorkloadRandom(int task) => new(Loop.Seed ^ (0x9E3779B97F4A7C15UL * (ulong)task));

    internal void SetRuntime(TaskRuntime runtime)
    {
        if (Observer is not null) runtime.Program = new ObservedProgram(runtime.Program, Observer, this);
        Set(ref _runtimes, runtime.Task, runtime);
    }

    internal static bool TryParse(string stream, string prefix, out int n)
    {
        n = -1;
        return stream.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(stream.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n);
    }
}
