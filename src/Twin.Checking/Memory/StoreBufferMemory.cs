using Twin.Actors.Persistence;
using Twin.Kernel.Events;

namespace Twin.Checking.Memory;

/// <summary>What a load read: the value, the store it came from (its event index; 0: the initial value), whether from the CPU's own store buffer, and as of when it read memory.</summary>
public readonly record struct LoadedValue(long Value, long Store, bool OwnBuffer, long AsOfNs);

/// <summary>Told of each user store and load as the memory handles it (the <see cref="Monitors.ObservedOrderMonitor"/>).</summary>
public interface IMemoryObserver
{
    void Stored(in EventMeta meta, in UserStored store);

    void Loaded(in EventMeta meta, in UserLoaded load, in LoadedValue value);
}

/// <summary>
/// The user-visible memory of a run, as an operational model over the event stream: litmus
/// experiments and the weak-memory mode (<c>memory.weak</c>). Each CPU has a store buffer; a store
/// leaves it when it is due or at the CPU's next full barrier (on x86 also at a core-serializing
/// event). On x86 (TSO) every store is due <c>storeBufferNs</c> after it was made, so stores leave
/// in order. On weakly ordered architectures each store is due after its own delay in
/// [0, storeBufferNs], drawn from the run's seed and the event's index (never before an earlier
/// store of the CPU to the same variable: coherence), so stores to different variables can become
/// visible out of order; and a load may be satisfied early, reading memory as it was at the latest
/// of the CPU's last full barrier, a quarter of <c>storeBufferNs</c> ago and its own last store to
/// the variable. A load sees its own CPU's newest buffered store first. Only observes: it decides
/// nothing the kernel model sees, and the same events give the same values. Memory stays bounded:
/// a variable keeps the stores that became visible in the last two buffer lengths, and one before.
/// </summary>
public sealed class StoreBufferMemory(bool tso, long storeBufferNs, ulong seed = 0) : EventTap
{
    private struct Pending
    {
        public int Var;
        public long Value;
        public long DueNs;
        public long Store;
        public int Task;
    }

    private struct Visible
    {
        public long AtNs;
        public long Value;
        public long Store;
        public int Cpu;
        public int Task;
    }

    private List<Pending>[] _buffers = [];
    private long[] _lastBarrierNs = [];
    private readonly Dictionary<int, List<Visible>> _history = [];
    private readonly Dictionary<(int Task, int Reg), long> _registers = [];
    private long _nextDueNs = long.MaxValue;

    /// <summary>Told of every store and load, after the memory handled it.</summary>
    public IMemoryObserver? Observer { get; set; }

    /// <summary>Register values after the run, by (task, register id); a register never loaded is absent.</summary>
    public IReadOnlyDictionary<(int Task, int Reg), long> Registers => _registers;

    public long StoreBufferNs => storeBufferNs;

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        long now = meta.TimestampNs;
        if (now >= _nextDueNs) DrainDue(now);
        if (KernelView.Is(in evt, out UserStored st))
        {
            Buffer(in meta, in st);
            Observer?.Stored(in meta, in st);
        }
        else if (KernelView.Is(in evt, out UserLoaded ld))
        {
            LoadedValue v = Load(ld.Cpu, ld.Var, now);
            _registers[(ld.Task, ld.Reg)] = v.Value;
            Observer?.Loaded(in meta, in ld, in v);
        }
        else if (KernelView.Is(in evt, out FullBarrier b))
        {
            DrainCpu(b.Cpu, now);
            LastBarrier(b.Cpu) = now;
        }
        else if (tso && KernelView.Is(in evt, out CoreSerialized cs))
        {
            // x86's serializing instructions (IRET, CR3 write, SERIALIZE) drain the store buffer; a
            // context synchronization elsewhere (ERET, rfid, fence.i) orders no memory accesses.
            DrainCpu(cs.Cpu, now);
        }
    }

    /// <summary>True when store <paramref name="store"/> (an event index) to <paramref name="var"/> was visible to a load reading memory as of <paramref name="asOfNs"/>.</summary>
    public bool IsVisible(int var, long store, long asOfNs)
    {
        if (_history.TryGetValue(var, out List<Visible>? h))
        {
            for (int i = h.Count - 1; i >= 0; i--)
            {
                if (h[i].Store == store) return h[i].AtNs <= asOfNs;
            }
        }
        // Not in the history: still buffered, or pruned (visible more than two buffer lengths ago, before any read still made).
        return !IsPending(var, store);
    }

    /// <summary>
    /// The stores to <paramref name="var"/> that a load reading memory as of <paramref name="asOfNs"/>
    /// did not see: still in a store buffer, or visible only later. Fills <paramref name="into"/>
    /// (store event index, storing task) and returns how many; at most its length.
    /// </summary>
    public int Hidden(int var, long asOfNs, Span<(long Store, int Task)> into)
    {
        int n = 0;
        foreach (List<Pending> buffer in _buffers)
        {
            if (buffer is null) continue;
            foreach (Pending p in buffer)
            {
                if (p.Var == var && n < into.Length) into[n++] = (p.Store, p.Task);
            }
        }
        if (_history.TryGetValue(var, out List<Visible>? h))
        {
            for (int i = h.Count - 1; i >= 0 && h[i].AtNs > asOfNs; i--)
            {
                if (n < into.Length) into[n++] = (h[i].Store, h[i].Task);
            }
        }
        return n;
    }

    private bool IsPending(int var, long store)
    {
        foreach (List<Pending> buffer in _buffers)
        {
            if (buffer is null) continue;
            foreach (Pending p in buffer)
            {
                if (p.Var == var && p.Store == store) return true;
            }
        }
        return false;
    }

    private void Buffer(in EventMeta meta, in UserStored st)
    {
        long now = meta.TimestampNs;
        List<Pending> buffer = BufferOf(st.Cpu);
        long due = now + (tso ? storeBufferNs : (long)(Mix(seed ^ (ulong)meta.EventIndex) % (ulong)(storeBufferNs + 1)));
        // Coherence: a store never becomes visible before an earlier store of its CPU to the same variable.
        for (int i = buffer.Count - 1; i >= 0; i--)
        {
            if (buffer[i].Var == st.Var)
            {
                due = Math.Max(due, buffer[i].DueNs);
                break;
            }
        }
        buffer.Add(new Pending { Var = st.Var, Value = st.Value, DueNs = due, Store = meta.EventIndex, Task = st.Task });
        _nextDueNs = Math.Min(_nextDueNs, due);
    }

    private LoadedValue Load(int cpu, int var, long now)
    {
        List<Pending> buffer = BufferOf(cpu);
        for (int i = buffer.Count - 1; i >= 0; i--)
        {
            if (buffer[i].Var == var) return new LoadedValue(buffer[i].Value, buffer[i].Store, OwnBuffer: true, now);
        }
        long asOf = tso ? now : Math.Max(LastBarrier(cpu), now - (storeBufferNs / 4));
        if (!_history.TryGetValue(var, out List<Visible>? h)) return new LoadedValue(0, 0, false, asOf);
        for (int i = h.Count - 1; i >= 0; i--)
        {
            // A CPU never reads a variable from before its own last store to it became visible.
            if (h[i].AtNs <= asOf || h[i].Cpu == cpu) return new LoadedValue(h[i].Value, h[i].Store, false, Math.Max(asOf, h[i].AtNs));
        }
        return new LoadedValue(0, 0, false, asOf);
    }

    /// <summary>Makes every store due by <paramref name="now"/> visible, each from its due time.</summary>
    private void DrainDue(long now)
    {
        long next = long.MaxValue;
        for (int cpu = 0; cpu < _buffers.Length; cpu++)
        {
            List<Pending>? buffer = _buffers[cpu];
            if (buffer is null) continue;
            int kept = 0;
            for (int i = 0; i < buffer.Count; i++)
            {
                Pending p = buffer[i];
                if (p.DueNs <= now) MakeVisible(cpu, in p, p.DueNs, now);
                else
                {
                    buffer[kept++] = p;
                    next = Math.Min(next, p.DueNs);
                }
            }
            buffer.RemoveRange(kept, buffer.Count - kept);
        }
        _nextDueNs = next;
    }

    /// <summary>A barrier: the CPU's buffered stores become visible now, in program order.</summary>
    private void DrainCpu(int cpu, long now)
    {
        List<Pending> buffer = BufferOf(cpu);
        foreach (Pending p in buffer) MakeVisible(cpu, in p, now, now);
        buffer.Clear();
    }

    private void MakeVisible(int cpu, in Pending p, long atNs, long now)
    {
        if (!_history.TryGetValue(p.Var, out List<Visible>? h)) _history[p.Var] = h = [];
        int at = h.Count;
        while (at > 0 && h[at - 1].AtNs > atNs) at--;
        h.Insert(at, new Visible { AtNs = atNs, Value = p.Value, Store = p.Store, Cpu = cpu, Task = p.Task });
        if (h.Count > 16) Prune(h, now - (2 * storeBufferNs));
    }

    /// <summary>Drops the stores visible before <paramref name="horizonNs"/> but the newest of them: no load reads memory that old.</summary>
    private static void Prune(List<Visible> h, long horizonNs)
    {
        int old = 0;
        while (old < h.Count && h[old].AtNs < horizonNs) old++;
        if (old > 1) h.RemoveRange(0, old - 1);
    }

    private List<Pending> BufferOf(int cpu)
    {
        if (cpu >= _buffers.Length)
        {
            Array.Resize(ref _buffers, cpu + 1);
            Array.Resize(ref _lastBarrierNs, cpu + 1);
        }
        return _buffers[cpu] ??= new List<Pending>(8);
    }

    private ref long LastBarrier(int cpu)
    {
        BufferOf(cpu);
        return ref _lastBarrierNs[cpu];
    }

    /// <summary>SplitMix64's finalizer: a well-spread value from a seed and an event index.</summary>
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
