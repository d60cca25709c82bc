using System.Runtime.CompilerServices;
using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Checking;

/// <summary>
/// What the checkers know of the machine, rebuilt from the event stream alone (never from the
/// actors): each CPU's rq->curr, mode, loaded mm and lazy state, its runqueue's membarrier state,
/// the event index of its last full barrier, core-serializing event and kernel entry; each task's
/// mm; each mm's cpumask, tlb_gen and membarrier state. It is the last tap of a
/// <see cref="MonitorSet"/>: monitors see it as it was before the event they are handling.
/// </summary>
public sealed class KernelView : EventTap
{
    private int[] _taskMm = new int[64];
    private bool[] _taskKthread = new bool[64];
    private int[] _mmState = new int[16];
    private long[] _mmTlbGen = new long[16];
    private CpuMask[] _mmCpumask = new CpuMask[16];

    public int[] Curr { get; } = Init(KernelIds.IdleTask);

    public CpuMode[] Mode { get; } = new CpuMode[Limits.MaxCpus];

    /// <summary>Out of cpu_online_mask (a hotplug fault): no cross-call reaches it, it runs nothing.</summary>
    public bool[] Offline { get; } = new bool[Limits.MaxCpus];

    public int[] Loaded { get; } = new int[Limits.MaxCpus];

    public bool[] Lazy { get; } = new bool[Limits.MaxCpus];

    public bool[] Switching { get; } = new bool[Limits.MaxCpus];

    public int[] SwitchingTo { get; } = new int[Limits.MaxCpus];

    public long[] LocalTlbGen { get; } = new long[Limits.MaxCpus];

    public int[] RqState { get; } = new int[Limits.MaxCpus];

    /// <summary>Event index of the CPU's last full barrier (0: none yet).</summary>
    public long[] LastBarrier { get; } = new long[Limits.MaxCpus];

    /// <summary>The reason of the CPU's last full barrier.</summary>
    public BarrierReason[] LastBarrierReason { get; } = new BarrierReason[Limits.MaxCpus];

    /// <summary>Event index of the CPU's last full barrier of each reason, at [cpu * ReasonSlots + reason].</summary>
    private readonly long[] _lastBarrierByReason = new long[Limits.MaxCpus * ReasonSlots];

    private const int ReasonSlots = 32;

    /// <summary>Event index of the CPU's last full barrier whose reason is in <paramref name="set"/> (0: none yet).</summary>
    public long LastBarrierOf(int cpu, BarrierSet set)
    {
        long last = 0;
        for (uint bits = set.Bits; bits != 0; bits &= bits - 1)
        {
            last = Math.Max(last, _lastBarrierByReason[(cpu * ReasonSlots) + System.Numerics.BitOperations.TrailingZeroCount(bits)]);
        }
        return last;
    }

    /// <summary>Event index of the CPU's last core-serializing event.</summary>
    public long[] LastCoreSerialize { get; } = new long[Limits.MaxCpus];

    /// <summary>Event index at which the CPU's rq->curr->mm last took another value (a switch, exit_mm, kthread_use/unuse_mm, exec).</summary>
    public long[] CurrMmChanged { get; } = new long[Limits.MaxCpus];

    /// <summary>
    /// The CPU has passed a full barrier since its rq->curr->mm last
    /// changed: from then on every other CPU's read of it must see the new value. Before, a read
    /// may see the old one (the store can sit in the store buffer), and the barrier that must
    /// follow the store before any user access is what keeps membarrier's guarantee.
    /// </summary>
    public bool CurrMmSettled(int cpu) => LastBarrier[cpu] > CurrMmChanged[cpu];

    /// <summary>Event index at which the CPU's rq->membarrier_state last changed.</summary>
    public long[] RqStateChanged { get; } = new long[Limits.MaxCpus];

    /// <summary>
    /// The CPU has passed a full barrier since its rq->membarrier_state last changed: from then on a
    /// GLOBAL_EXPEDITED sample on another CPU must read the new value (before, the store can be buffered).
    /// </summary>
    public bool RqStateSettled(int cpu) => LastBarrier[cpu] > RqStateChanged[cpu];

    /// <summary>Highest CPU id seen + 1.</summary>
    public int Cpus { get; private set; }

    public int TaskMm(int task) => task <= 0 || task >= _taskMm.Length ? KernelIds.None : _taskMm[task];

    public bool IsKthread(int task) => task <= 0 || (task < _taskKthread.Length && _taskKthread[task]);

    /// <summary><c>rq->curr->mm</c> of a CPU.</summary>
    public int CurrMm(int cpu) => TaskMm(Curr[cpu]);

    public int MmState(int mm) => mm > 0 && mm < _mmState.Length ? _mmState[mm] : 0;

    /// <summary>The mms whose membarrier_state has every bit of <paramref name="bits"/>.</summary>
    public HashSet<int> MmsWith(int bits)
    {
        var mms = new HashSet<int>();
        for (int mm = 1; mm < _mmState.Length; mm++)
        {
            if ((_mmState[mm] & bits) == bits) mms.Add(mm);
        }
        return mms;
    }

    public long MmTlbGen(int mm) => mm > 0 && mm < _mmTlbGen.Length ? _mmTlbGen[mm] : 0;

    /// <summary>Tasks whose mm is <paramref name="mm"/> (mm_users, as far as the stream shows the tasks).</summary>
    public int MmUsers(int mm)
    {
        int n = 0;
        if (mm <= 0) return 0;
        foreach (int m in _taskMm) if (m == mm) n++;
        return n;
    }

    public CpuMask MmCpumask(int mm) => mm > 0 && mm < _mmCpumask.Length ? _mmCpumask[mm] : CpuMask.Empty;

    /// <summary>The CPU whose rq->curr is <paramref name="task"/>, or -1.</summary>
    public int CpuRunning(int task)
    {
        for (int c = 0; c < Cpus; c++)
        {
            if (Curr[c] == task) return c;
        }
        return -1;
    }

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        long i = meta.EventIndex;
        if (Is(in evt, out FullBarrier fb))
        {
            LastBarrier[Seen(fb.Cpu)] = i;
            LastBarrierReason[fb.Cpu] = fb.Reason;
            _lastBarrierByReason[(fb.Cpu * ReasonSlots) + ((int)fb.Reason & (ReasonSlots - 1))] = i;
        }
        else if (Is(in evt, out CoreSerialized cs)) LastCoreSerialize[Seen(cs.Cpu)] = i;
        else if (Is(in evt, out SchedSwitched s))
        {
            Seen(s.Cpu);
            if (TaskMm(s.Next) != TaskMm(Curr[s.Cpu])) CurrMmChanged[s.Cpu] = i;
            Curr[s.Cpu] = s.Next;
            Mode[s.Cpu] = KernelIds.IsIdle(s.Next) ? CpuMode.Idle : CpuMode.Kernel;
        }
        else if (Is(in evt, out KernelEntered ke)) Mode[Seen(ke.Cpu)] = CpuMode.Kernel;
        else if (Is(in evt, out ReturnedToUser ru)) Mode[Seen(ru.Cpu)] = CpuMode.User;
        else if (Is(in evt, out LazyTlbEntered lz)) Lazy[Seen(lz.Cpu)] = Loaded[lz.Cpu] != KernelIds.InitMm;
        else if (Is(in evt, out MmSwitchBegan mb))
        {
            Switching[Seen(mb.Cpu)] = true;
            SwitchingTo[mb.Cpu] = mb.Next;
            Lazy[mb.Cpu] = false;
        }
        else if (Is(in evt, out MmSwitched ms))
        {
            Seen(ms.Cpu);
            Loaded[ms.Cpu] = ms.Next;
            Switching[ms.Cpu] = false;
            Lazy[ms.Cpu] = false;
            LocalTlbGen[ms.Cpu] = ms.TlbGen;
        }
        else if (Is(in evt, out TlbFlushed tf)) LocalTlbGen[Seen(tf.Cpu)] = tf.TlbGen;
        else if (Is(in evt, out RqMembarrierStateSet rq))
        {
            if (RqState[Seen(rq.Cpu)] != rq.State) RqStateChanged[rq.Cpu] = i;
            RqState[rq.Cpu] = rq.State;
        }
        else if (Is(in evt, out TaskCreated tc))
        {
            GrowTasks(tc.Task);
            _taskMm[tc.Task] = tc.Mm;
            _taskKthread[tc.Task] = tc.Kthread;
        }
        else if (Is(in evt, out TaskMmChanged tm))
        {
            GrowTasks(tm.Task);
            int cpu = CpuRunning(tm.Task);
            if (cpu >= 0 && _taskMm[tm.Task] != tm.Mm) CurrMmChanged[cpu] = i;
            _taskMm[tm.Task] = tm.Mm;
        }
        else if (Is(in evt, out MmCreated mc))
        {
            GrowMms(mc.Mm);
            _mmState[mc.Mm] = mc.MembarrierState;
            _mmTlbGen[mc.Mm] = 1;
        }
        else if (Is(in evt, out MembarrierStateChanged sc))
        {
            GrowMms(sc.Mm);
            _mmState[sc.Mm] = sc.State;
        }
        else if (Is(in evt, out TlbGenIncremented tg))
        {
            GrowMms(tg.Mm);
            _mmTlbGen[tg.Mm] = tg.TlbGen;
        }
        else if (Is(in evt, out MmCpumaskSet cset))
        {
            GrowMms(cset.Mm);
            _mmCpumask[cset.Mm] = _mmCpumask[cset.Mm].With(cset.Cpu);
        }
        else if (Is(in evt, out MmCpumaskCleared cclr))
        {
            GrowMms(cclr.Mm);
            _mmCpumask[cclr.Mm] = _mmCpumask[cclr.Mm].Without(cclr.Cpu);
        }
        else if (Is(in evt, out CpuBooted cb)) Seen(cb.Cpu);
        else if (Is(in evt, out CpuHotplugged hp)) Offline[Seen(hp.Cpu)] = !hp.Online;
    }

    /// <summary>Reinterprets <paramref name="evt"/> when <typeparamref name="TEvent"/> is <typeparamref name="T"/>; the JIT folds the check.</summary>
    internal static bool Is<TEvent, T>(in TEvent evt, out T value) where TEvent : struct where T : struct
    {
        if (typeof(TEvent) == typeof(T))
        {
            value = Unsafe.As<TEvent, T>(ref Unsafe.AsRef(in evt));
            return true;
        }
        value = default;
        return false;
    }

    private int Seen(int cpu)
    {
        if (cpu >= Cpus) Cpus = cpu + 1;
        return cpu;
    }

    private void GrowTasks(int task)
    {
        if (task < _taskMm.Length) return;
        int n = Math.Max(task + 1, _taskMm.Length * 2);
        Array.Resize(ref _taskMm, n);
        Array.Resize(ref _taskKthread, n);
    }

    private void GrowMms(int mm)
    {
        if (mm < _mmState.Length) return;
        int n = Math.Max(mm + 1, _mmState.Length * 2);
        Array.Resize(ref _mmState, n);
        Array.Resize(ref _mmTlbGen, n);
        Array.Resize(ref _mmCpumask, n);
    }

    private static int[] Init(Func<int, int> f)
    {
        var a = new int[Limits.MaxCpus];
        for (int i = 0; i < a.Length; i++) a[i] = f(i);
        return a;
    }
}
