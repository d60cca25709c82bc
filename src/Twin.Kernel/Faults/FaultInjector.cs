using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Sites;

namespace Twin.Kernel.Faults;

/// <summary>
/// Decides, for one run, when the plan's faults fire. It draws from a stream of its own, seeded
/// from the run's seed, so a plan never changes which numbers the rest of the model draws except
/// through the faults' own effects; same seed and plan, same faults. Asked only where a fault
/// could apply (a kernel without a plan has no injector and pays nothing).
/// </summary>
public sealed class FaultInjector
{
    private readonly FaultRule[] _rules;
    private readonly DeterministicRandom _random;
    private readonly bool[] _fired;
    private readonly sbyte[] _buggified; // 0 undecided, 1 on, -1 off

    public FaultInjector(IReadOnlyList<FaultRule> rules, ulong seed)
    {
        _rules = [.. rules];
        _random = new DeterministicRandom(seed ^ 0xFA0175EEDF00D5EFUL);
        _fired = new bool[_rules.Length];
        _buggified = new sbyte[_rules.Length];
    }

    /// <summary>The first IPI fault that fires for an IPI from a CPU to <paramref name="to"/>, if any; <paramref name="ns"/> is its drawn time.</summary>
    public FaultRule? OnIpiSend(int to, IpiKind kind, out long ns)
    {
        for (int i = 0; i < _rules.Length; i++)
        {
            FaultRule r = _rules[i];
            if (r.Kind is not (FaultKind.IpiDrop or FaultKind.IpiDelay or FaultKind.IpiDuplicate)) continue;
            if (r.Ipi is IpiKind k && k != kind) continue;
            if (r.Cpu >= 0 && r.Cpu != to) continue;
            if (!Fires(i)) continue;
            ns = _random.NextLong(r.NsMin, r.NsMax);
            return r;
        }
        ns = 0;
        return null;
    }

    public bool SkipsBarrier(int cpu, BarrierReason reason, OrderingSite site) => Skips(FaultKind.SkipBarrier, cpu, (int)reason, site);

    public bool SkipsSerialize(int cpu, CoreSerializeReason reason, OrderingSite site) => Skips(FaultKind.SkipSerialize, cpu, (int)reason, site);

    /// <summary>When each storm's interrupts arrive (virtual ns from boot) and on which CPU; drawn once, at boot.</summary>
    public IEnumerable<(long AtNs, int Cpu)> StormInterrupts(int cpus) => Storms(FaultKind.IrqStorm, cpus);

    /// <summary>When each NMI storm's NMIs arrive, and where.</summary>
    public IEnumerable<(long AtNs, int Cpu)> StormNmis(int cpus) => Storms(FaultKind.NmiStorm, cpus);

    private List<(long AtNs, int Cpu)> Storms(FaultKind kind, int cpus)
    {
        var list = new List<(long, int)>();
        for (int i = 0; i < _rules.Length; i++)
        {
            FaultRule r = _rules[i];
            if (r.Kind != kind || !Fires(i)) continue;
            long at = r.AtNs;
            int cpu = CpuOf(r, cpus);
            for (int n = 0; n < r.Count; n++)
            {
                list.Add((at, cpu));
                at += _random.NextLong(r.NsMin, r.NsMax);
            }
        }
        return list;
    }

    /// <summary>Hotplug faults with a time: when each CPU goes down and for how long; drawn once, at boot.</summary>
    public List<(long AtNs, int Cpu, long DownNs)> TimedHotplugs(int cpus)
    {
        var list = new List<(long, int, long)>();
        for (int i = 0; i < _rules.Length; i++)
        {
            FaultRule r = _rules[i];
            if (r.Kind != FaultKind.Hotplug || r.On != HotplugTrigger.None || !Fires(i)) continue;
            list.Add((r.AtNs, CpuOf(r, cpus), _random.NextLong(r.NsMin, r.NsMax)));
        }
        return list;
    }

    /// <summary>The first hotplug fault waiting for <paramref name="trigger"/> on a CPU other than <paramref name="caller"/> that fires, if any.</summary>
    public (int Cpu, long DownNs)? OnHotplugTrigger(HotplugTrigger trigger, int caller, int cpus)
    {
        for (int i = 0; i < _rules.Length; i++)
        {
            FaultRule r = _rules[i];
            if (r.Kind != FaultKind.Hotplug || r.On != trigger) continue;
            int cpu = CpuOf(r, cpus);
            if (cpu == caller || !Fires(i)) continue;
            return (cpu, _random.NextLong(r.NsMin, r.NsMax));
        }
        return null;
    }

    /// <summary>The CPU a storm or hotplug rule acts on: its own, or one drawn from the fault stream.</summary>
    private int CpuOf(FaultRule r, int cpus) => r.Cpu >= 0 ? r.Cpu % cpus : (int)_random.NextLong(0, cpus - 1);

    private bool Skips(FaultKind kind, int cpu, int reason, OrderingSite site)
    {
        for (int i = 0; i < _rules.Length; i++)
        {
            FaultRule r = _rules[i];
            if (r.Kind != kind || (r.Cpu >= 0 && r.Cpu != cpu)) continue;
            bool matches = r.Site != OrderingSite.None ? r.Site == site : r.Reason == reason;
            if (matches && Fires(i)) return true;
        }
        return false;
    }

    private bool Fires(int i)
    {
        FaultRule r = _rules[i];
        if (r.Once && _fired[i]) return false;
        if (r.Buggify > 0)
        {
            if (_buggified[i] == 0) _buggified[i] = _random.Chance(r.Buggify) ? (sbyte)1 : (sbyte)-1;
            if (_buggified[i] < 0) return false;
        }
        if (r.Probability < 1 && !_random.Chance(r.Probability)) return false;
        _fired[i] = true;
        return true;
    }
}
