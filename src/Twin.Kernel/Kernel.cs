using Twin.Actors;
using Twin.Kernel.Cpu;
using Twin.Kernel.Machine;
using Twin.Kernel.Mm;

namespace Twin.Kernel;

/// <summary>
/// The simulated machine: how its actors find one another. A CPU reading <c>rq->curr</c> of
/// another CPU, or setting a bit in an <c>mm_cpumask</c>, acts at one instant on shared memory;
/// the twin models that as a direct call into the owning actor within the caller's step, which
/// journals the change in the owner's stream. Message passing (IPIs, wakeups, timers) is for
/// everything that takes time. Nothing in here decides anything: all choices come from the
/// actor system's seeded random source.
/// </summary>
public sealed class Kernel
{
    private readonly Dictionary<int, MmActor> _mms = [];

    public Kernel(KernelConfig config)
    {
        Config = config;
        Cpus = new CpuActor[config.Cpus];
        CpuRefs = new ActorRef[config.Cpus];
    }

    public KernelConfig Config { get; }

    public MachineActor Machine { get; internal set; } = null!;

    public CpuActor[] Cpus { get; }

    public ActorRef[] CpuRefs { get; }

    public IReadOnlyDictionary<int, MmActor> Mms => _mms;

    public TaskTable Tasks => Machine.Tasks;

    public MmActor Mm(int mm)
    {
        Invariant.Assert(_mms.ContainsKey(mm), "known mm");
        return _mms[mm];
    }

    internal void Register(MmActor mm) => _mms[mm.Id] = mm;

    /// <summary>Creates every actor of the machine; the workload starts as the system runs.</summary>
    public static Kernel Boot(ActorSystem system, KernelConfig config)
    {
        var kernel = new Kernel(config);
        for (int p = 0; p < config.Workload.Processes; p++)
        {
            int mm = KernelConfig.MmOf(p);
            int tgid = config.UserTaskId(p, 0);
            system.ActorOf(Props.Create(() => new MmActor(kernel, mm, tgid)), MmActor.StreamOf(mm));
        }
        for (int c = 0; c < config.Cpus; c++)
        {
            int cpu = c;
            kernel.CpuRefs[cpu] = system.ActorOf(Props.Create(() => new CpuActor(kernel, cpu)), CpuActor.StreamOf(cpu));
        }
        system.ActorOf(Props.Create(() => new MachineActor(kernel)), MachineActor.Stream);
        return kernel;
    }

    /// <summary>The actor owning a journal stream, for whole-run replay; null if the name is not a kernel stream.</summary>
    public Props? PropsForStream(string stream)
    {
        if (stream == MachineActor.Stream) return Props.Create(() => new MachineActor(this));
        if (TryParse(stream, "cpu-", out int cpu) && cpu < Config.Cpus) return Props.Create(() => new CpuActor(this, cpu));
        if (TryParse(stream, "mm-", out int mm) && mm > 0) return Props.Create(() => new MmActor(this, mm, tgid: 0));
        return null;
    }

    private static bool TryParse(string stream, string prefix, out int n)
    {
        n = -1;
        return stream.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(stream.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n);
    }
}
