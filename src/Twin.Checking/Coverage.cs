using System.Text.Json;
using Twin.Kernel.Arch;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;

namespace Twin.Checking;

/// <summary>
/// The coverage points a run can reach, each a (group, name) with a fixed index: what the checkers
/// care about (context_switch's four cases per profile, the lazy-TLB paths, every membarrier command
/// x flag x result, the barriers that ran on another CPU inside a membarrier call's window, IPI kinds
/// and the faults on them, the LAM, text_poke and isolation steps). docs/soak.md lists them.
/// </summary>
public static class CoveragePoints
{
    private static readonly List<(string Group, string Name)> s_points = [];

    private static int Add(string group, string name)
    {
        s_points.Add((group, name));
        return s_points.Count - 1;
    }

    private static int Block(string group, IEnumerable<string> names)
    {
        int first = s_points.Count;
        foreach (string n in names) Add(group, n);
        return first;
    }

    /// <summary>context_switch(): by whether prev and next have an mm, per architecture profile.</summary>
    public static readonly string[] SwitchCases = ["user→user", "user→kernel (lazy)", "kernel→user (unlazy)", "kernel→kernel (lazy)"];

    public static readonly int Switch = Block("switch", ArchProfile.All.SelectMany(a => SwitchCases.Select(c => $"{a.Name}: {c}")));

    public static readonly int Lazy = Block("lazy", ["enter lazy TLB", "unlazy with CR3 write", "unlazy, same mm (no CR3 write)",
        "kthread_use_mm", "kthread_unuse_mm", "exit_mm", "exec", "shootdown flush", "shootdown freeing tables", "full flush"]);

    /// <summary>membarrier's commands in <see cref="MembarrierCmdIndex"/>'s order.</summary>
    public static readonly string[] Commands = ["QUERY", "GLOBAL", "GLOBAL_EXPEDITED", "REGISTER_GLOBAL_EXPEDITED", "PRIVATE_EXPEDITED",
        "REGISTER_PRIVATE_EXPEDITED", "PRIVATE_EXPEDITED_SYNC_CORE", "REGISTER_PRIVATE_EXPEDITED_SYNC_CORE", "PRIVATE_EXPEDITED_RSEQ",
        "REGISTER_PRIVATE_EXPEDITED_RSEQ", "GET_REGISTRATIONS", "invalid command"];

    public static readonly string[] Flags = ["0", "FLAG_CPU", "other"];

    public static readonly string[] Results = ["ok", "EINVAL", "EPERM", "other errno"];

    /// <summary>
    /// The (command, flags, result) triples membarrier(2) can give, as kernel/sched/membarrier.c
    /// decides them: any flags but FLAG_CPU on PRIVATE_EXPEDITED_RSEQ are EINVAL; GLOBAL is EINVAL
    /// under nohz_full; the PRIVATE_EXPEDITED commands are EPERM before registration; an unknown
    /// command is EINVAL. A triple outside them counts as "anything else" (the E-* checker reports it).
    /// </summary>
    private static IEnumerable<(int Cmd, int Flags, int Result)> Triples()
    {
        const int ok = 0, einval = 1, eperm = 2, cpuFlag = 1;
        for (int c = 0; c < Commands.Length; c++)
        {
            bool rseq = c == 8, invalid = c == Commands.Length - 1, privateCall = c is 4 or 6 or 8;
            if (!invalid) yield return (c, 0, ok);
            if (c == 1 || invalid) yield return (c, 0, einval);
            if (privateCall) yield return (c, 0, eperm);
            if (rseq)
            {
                yield return (c, cpuFlag, ok);
                yield return (c, cpuFlag, eperm);
            }
            yield return (c, rseq ? 2 : cpuFlag, einval);
        }
    }

    private static readonly (int Cmd, int Flags, int Result)[] s_triples = [.. Triples()];

    public static readonly int Membarrier = Block("membarrier",
        [.. s_triples.Select(t => $"{Commands[t.Cmd]} flags={(t.Flags == 2 ? "bad" : Flags[t.Flags])} → {Results[t.Result]}"), "anything else"]);

    /// <summary>Point of a membarrier call's (command index, flag class, result class); "anything else" for a triple not in the catalog.</summary>
    private static readonly int[] s_membarrierPoint = MembarrierPoints();

    private static int[] MembarrierPoints()
    {
        var map = new int[Commands.Length * Flags.Length * Results.Length];
        Array.Fill(map, Membarrier + s_triples.Length);
        for (int i = 0; i < s_triples.Length; i++) map[(s_triples[i].Cmd * Flags.Length + s_triples[i].Flags) * Results.Length + s_triples[i].Result] = Membarrier + i;
        return map;
    }

    public static int MembarrierPoint(int cmdIndex, int flagClass, int resultClass) =>
        s_membarrierPoint[(cmdIndex * Flags.Length + flagClass) * Results.Length + resultClass];

    /// <summary>A full barrier of each reason that ran on another CPU while a membarrier call was between its entry and exit barriers.</summary>
    public static readonly int Pairing = Block("pairing", Enum.GetNames<BarrierReason>().Select(r => $"membarrier ↔ {r}"));

    public static readonly int Serialize = Block("serialize", Enum.GetNames<CoreSerializeReason>());

    public static readonly int ReturnToUser = Block("return", Enum.GetNames<ReturnPath>());

    public static readonly int IpiSent = Block("ipi", Enum.GetNames<IpiKind>().Select(k => $"{k} sent"));

    public static readonly string[] IpiFaults = ["dropped", "delayed", "duplicated"];

    public static readonly int IpiFault = Block("ipi", Enum.GetNames<IpiKind>().SelectMany(k => IpiFaults.Select(f => $"{k} {f}")));

    public static readonly int Fault = Block("fault", ["irq storm", "nmi storm", "skipped barrier", "skipped serialization", "CPU offline", "CPU online"]);

    public static readonly string[] LamOptions = ["ENABLE_TAGGED_ADDR", "GET_UNTAG_MASK", "GET_MAX_TAG_BITS"];

    public static readonly int Lam = Block("lam", [.. LamOptions.SelectMany(o => new[] { $"{o} ok", $"{o} error" }),
        .. Enum.GetNames<LamLoadReason>().Select(r => $"LAM loaded by {r}"), "untagged_addr"]);

    public static readonly int TextPoke = Block("textPoke", [.. Enum.GetNames<TextPokePhase>().Select(p => $"batch {p}"),
        .. Enum.GetNames<Int3Step>().Select(s => $"INT3 {s}"), .. Enum.GetNames<TextContext>().Select(c => $"text run in {c}")]);

    public static readonly int Isolation = Block("isolation", Enum.GetNames<CtWorkStep>().Select(s => $"CT_WORK_SYNC {s}"));

    public static int Count => s_points.Count;

    /// <summary>Names the catalog (every group and name in order): stored counts are read only by a build with the same catalog.</summary>
    public static string CatalogHash { get; } = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
        System.Text.Encoding.UTF8.GetBytes(string.Join("\n", s_points.Select(p => $"{p.Group}/{p.Name}")))))[..16].ToLowerInvariant();

    public static string Group(int point) => s_points[point].Group;

    public static string Name(int point) => s_points[point].Name;

    /// <summary>The groups in catalog order.</summary>
    public static IReadOnlyList<string> Groups { get; } = [.. s_points.Select(p => p.Group).Distinct()];

    public static int Find(string group, string name) => s_points.FindIndex(p => p.Group == group && p.Name == name);

    /// <summary>0 for QUERY, 1..10 for the commands by bit, 11 for anything else.</summary>
    public static int MembarrierCmdIndex(int cmd) =>
        cmd == MembarrierCmd.Query ? 0
        : cmd > 0 && (cmd & (cmd - 1)) == 0 && cmd <= MembarrierCmd.GetRegistrations ? System.Numerics.BitOperations.Log2((uint)cmd) + 1
        : Commands.Length - 1;
}

/// <summary>
/// How often a run (or a campaign, summed) reached each coverage point. Fixed size: adding to it
/// never allocates, so observing a run costs no allocation per event.
/// </summary>
public sealed class Coverage
{
    private readonly long[] _counts = new long[CoveragePoints.Count];

    public long this[int point] => _counts[point];

    public void Hit(int point) => _counts[point]++;

    /// <summary>Adds <paramref name="count"/> to a point (a stored run's counts read back).</summary>
    public void Add(int point, long count)
    {
        lock (_counts) _counts[point] += count;
    }

    /// <summary>Adds another run's counts (a campaign's sum); thread-safe for concurrent adders.</summary>
    public void Add(Coverage other)
    {
        lock (_counts)
        {
            for (int i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        }
    }

    public int PointsHit => _counts.Count(c => c > 0);

    /// <summary>Points of <paramref name="group"/>: how many there are and how many were reached.</summary>
    public (int Hit, int Points) OfGroup(string group)
    {
        int hit = 0, points = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            if (CoveragePoints.Group(i) != group) continue;
            points++;
            if (_counts[i] > 0) hit++;
        }
        return (hit, points);
    }

    /// <summary>The reached points as <c>{"group": {"name": count}}</c>, groups and points in catalog order.</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("pointsHit", PointsHit);
        w.WriteNumber("points", _counts.Length);
        w.WriteStartObject("groups");
        foreach (string group in CoveragePoints.Groups)
        {
            (int hit, int points) = OfGroup(group);
            w.WriteStartObject(group);
            w.WriteNumber("hit", hit);
            w.WriteNumber("points", points);
            w.WriteStartObject("counts");
            for (int i = 0; i < _counts.Length; i++)
            {
                if (_counts[i] > 0 && CoveragePoints.Group(i) == group) w.WriteNumber(CoveragePoints.Name(i), _counts[i]);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Reads what <see cref="WriteJson"/> wrote; points this build does not know are skipped.</summary>
    public static Coverage ReadJson(JsonElement e)
    {
        var c = new Coverage();
        foreach (JsonProperty group in e.GetProperty("groups").EnumerateObject())
        {
            foreach (JsonProperty point in group.Value.GetProperty("counts").EnumerateObject())
            {
                int i = CoveragePoints.Find(group.Name, point.Name);
                if (i >= 0) c._counts[i] += point.Value.GetInt64();
            }
        }
        return c;
    }
}

/// <summary>
/// Counts the coverage points a run reaches. Only observes, like a monitor; attached before the
/// <see cref="KernelView"/>, so it reads the machine as it was before each event. No allocation per event.
/// </summary>
public sealed class CoverageMonitor(string arch) : Actors.Persistence.EventTap
{
    private readonly int _archBase = CoveragePoints.Switch + CoveragePoints.SwitchCases.Length * Math.Max(0, IndexOf(arch));
    private readonly int[] _callCmd = new int[Kernel.Limits.MaxCpus];
    private readonly int[] _callFlags = new int[Kernel.Limits.MaxCpus];
    private readonly bool[] _inCall = new bool[Kernel.Limits.MaxCpus];
    private int _callsInFlight;

    public Coverage Coverage { get; } = new();

    /// <summary>The view of the run's machine (the <see cref="MonitorSet"/>'s); set before the run.</summary>
    public KernelView View { get; set; } = new();

    private static int IndexOf(string arch)
    {
        for (int i = 0; i < ArchProfile.All.Count; i++) if (ArchProfile.All[i].Name == arch) return i;
        return -1;
    }

    public override void OnEvent<TEvent>(in Actors.Persistence.EventMeta meta, in TEvent evt)
    {
        Coverage c = Coverage;
        if (KernelView.Is(in evt, out SchedSwitched s))
        {
            bool prevUser = View.TaskMm(s.Prev) != Kernel.KernelIds.None, nextUser = View.TaskMm(s.Next) != Kernel.KernelIds.None;
            c.Hit(_archBase + (prevUser ? (nextUser ? 0 : 1) : (nextUser ? 2 : 3)));
        }
        else if (KernelView.Is(in evt, out FullBarrier fb))
        {
            // Another CPU's barrier while a call is between its barriers: the other side of a pairing the checkers ask for.
            if (_callsInFlight > (_inCall[fb.Cpu] ? 1 : 0)) c.Hit(CoveragePoints.Pairing + (int)fb.Reason - 1);
        }
        else if (KernelView.Is(in evt, out MembarrierEntered me))
        {
            _callCmd[me.Cpu] = CoveragePoints.MembarrierCmdIndex(me.Cmd);
            _callFlags[me.Cpu] = me.Flags == 0 ? 0 : me.Flags == MembarrierCmd.FlagCpu ? 1 : 2;
            if (!_inCall[me.Cpu]) _callsInFlight++;
            _inCall[me.Cpu] = true;
        }
        else if (KernelView.Is(in evt, out MembarrierExited mx))
        {
            if (_inCall[mx.Cpu]) _callsInFlight--;
            _inCall[mx.Cpu] = false;
            int result = mx.Ret >= 0 ? 0 : -mx.Ret == Errno.EINVAL ? 1 : -mx.Ret == Errno.EPERM ? 2 : 3;
            c.Hit(CoveragePoints.MembarrierPoint(_callCmd[mx.Cpu], _callFlags[mx.Cpu], result));
        }
        else
        {
            Rarer(in evt, c);
        }
    }

    private static void Rarer<TEvent>(in TEvent evt, Coverage c) where TEvent : struct, Persistence.Codec.IJournaledEvent<TEvent>
    {
        if (KernelView.Is(in evt, out LazyTlbEntered _)) c.Hit(CoveragePoints.Lazy);
        else if (KernelView.Is(in evt, out MmSwitched ms))
        {
            if (ms.WasLazy) c.Hit(CoveragePoints.Lazy + (ms.Cr3Written ? 1 : 2));
        }
        else if (KernelView.Is(in evt, out TaskMmChanged tm)) c.Hit(CoveragePoints.Lazy + tm.Reason switch
        {
            MmChangeReason.KthreadUseMm => 3,
            MmChangeReason.KthreadUnuseMm => 4,
            MmChangeReason.ExitMm => 5,
            _ => 6,
        });
        else if (KernelView.Is(in evt, out TlbShootdownStarted sd)) c.Hit(CoveragePoints.Lazy + (sd.FreedTables ? 8 : 7));
        else if (KernelView.Is(in evt, out TlbFlushed tf))
        {
            if (tf.Full) c.Hit(CoveragePoints.Lazy + 9);
        }
        else if (KernelView.Is(in evt, out CoreSerialized cs)) c.Hit(CoveragePoints.Serialize + (int)cs.Reason - 1);
        else if (KernelView.Is(in evt, out ReturnedToUser ru)) c.Hit(CoveragePoints.ReturnToUser + (int)ru.Path - 1);
        else if (KernelView.Is(in evt, out IpiSent ip)) c.Hit(CoveragePoints.IpiSent + (int)ip.Kind - 1);
        else if (KernelView.Is(in evt, out FaultInjected fi)) Fault(fi, c);
        else if (KernelView.Is(in evt, out CpuHotplugged hp)) c.Hit(CoveragePoints.Fault + (hp.Online ? 5 : 4));
        else if (KernelView.Is(in evt, out ArchPrctlReturned ap))
        {
            int option = ap.Option switch { ArchPrctlOption.EnableTaggedAddr => 0, ArchPrctlOption.GetUntagMask => 1, _ => 2 };
            c.Hit(CoveragePoints.Lam + 2 * option + (ap.Ret < 0 ? 1 : 0));
        }
        else if (KernelView.Is(in evt, out CpuLamLoaded ll)) c.Hit(CoveragePoints.Lam + 2 * CoveragePoints.LamOptions.Length + (int)ll.Reason - 1);
        else if (KernelView.Is(in evt, out UntaggedAddr _)) c.Hit(CoveragePoints.Lam + 2 * CoveragePoints.LamOptions.Length + Enum.GetValues<LamLoadReason>().Length);
        else if (KernelView.Is(in evt, out TextPokeStepped tp)) c.Hit(CoveragePoints.TextPoke + (int)tp.Phase - 1);
        else if (KernelView.Is(in evt, out Int3Handled ih)) c.Hit(CoveragePoints.TextPoke + s_phases + (int)ih.Step - 1);
        else if (KernelView.Is(in evt, out TextFetched tx)) c.Hit(CoveragePoints.TextPoke + s_phases + s_int3Steps + (int)tx.Context - 1);
        else if (KernelView.Is(in evt, out CtWork ct)) c.Hit(CoveragePoints.Isolation + (int)ct.Step - 1);
    }

    private static readonly int s_phases = Enum.GetValues<TextPokePhase>().Length;
    private static readonly int s_int3Steps = Enum.GetValues<Int3Step>().Length;

    private static void Fault(FaultInjected fi, Coverage c)
    {
        int ipiFaults = CoveragePoints.IpiFaults.Length;
        switch (fi.Kind)
        {
            case FaultKind.IpiDrop or FaultKind.IpiDelay or FaultKind.IpiDuplicate when fi.What >= 1:
                c.Hit(CoveragePoints.IpiFault + (fi.What - 1) * ipiFaults + (fi.Kind == FaultKind.IpiDrop ? 0 : fi.Kind == FaultKind.IpiDelay ? 1 : 2));
                break;
            case FaultKind.IrqStorm: c.Hit(CoveragePoints.Fault); break;
            case FaultKind.NmiStorm: c.Hit(CoveragePoints.Fault + 1); break;
            case FaultKind.SkipBarrier: c.Hit(CoveragePoints.Fault + 2); break;
            case FaultKind.SkipSerialize: c.Hit(CoveragePoints.Fault + 3); break;
        }
    }
}
