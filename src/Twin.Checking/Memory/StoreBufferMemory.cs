using Twin.Actors.Persistence;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Checking.Litmus;

/// <summary>
/// The user-visible memory of a litmus experiment, as an operational model over the event stream.
/// Each CPU has a store buffer; a store leaves it when it is due or at the CPU's next full barrier
/// or core-serializing event. On x86 (TSO) every store is due <c>storeBufferNs</c> after it was
/// made, so stores leave in order, and a serializing instruction drains the buffer. On weakly ordered architectures each store is due after its own
/// delay in [0, storeBufferNs], drawn from the run's seed and the event's index, so stores to
/// different variables can become visible out of order; and a load may be satisfied early,
/// reading memory as it was at the later of the CPU's last full barrier and a quarter of
/// <c>storeBufferNs</c> ago. A load always sees its own CPU's newest buffered store. Only observes: it decides nothing
/// the kernel model sees, and the same events give the same values.
/// </summary>
public sealed class StoreBufferMemory(bool tso, long storeBufferNs, ulong seed = 0) : EventTap
{
    private readonly Dictionary<int, List<(int Var, long Value, long DueNs)>> _buffers = [];
    private readonly Dictionary<int, List<(long AtNs, long Value)>> _history = [];
    private readonly Dictionary<int, long> _lastBarrierNs = [];
    private readonly Dictionary<(int Task, int Reg), long> _registers = [];

    /// <summary>Register values after the run, by (task, register id); a register never loaded is absent.</summary>
    public IReadOnlyDictionary<(int Task, int Reg), long> Registers => _registers;

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        long now = meta.TimestampNs;
        foreach ((int cpu, var buffer) in _buffers) Drain(buffer, now, atBarrier: false);
        if (KernelView.Is(in evt, out UserStored st))
        {
            long delay = tso ? storeBufferNs : (long)(Mix(seed ^ (ulong)meta.EventIndex) % (ulong)(storeBufferNs + 1));
            Buffer(st.Cpu).Add((st.Var, st.Value, now + delay));
        }
        else if (KernelView.Is(in evt, out UserLoaded ld))
        {
            _registers[(ld.Task, ld.Reg)] = Load(ld.Cpu, ld.Var, now);
        }
        else if (KernelView.Is(in evt, out FullBarrier b))
        {
            Drain(Buffer(b.Cpu), now, atBarrier: true);
            _lastBarrierNs[b.Cpu] = now;
        }
        else if (tso && KernelView.Is(in evt, out CoreSerialized cs))
        {
            // x86's serializing instructions (IRET, CR3 write, SERIALIZE) drain the store buffer; a
            // context synchronization elsewhere (ERET, rfid, fence.i) orders no memory accesses.
            Drain(Buffer(cs.Cpu), now, atBarrier: true);
        }
    }

    private long Load(int cpu, int var, long now)
    {
        List<(int Var, long Value, long DueNs)> buffer = Buffer(cpu);
        for (int i = buffer.Count - 1; i >= 0; i--)
        {
            if (buffer[i].Var == var) return buffer[i].Value;
        }
        long asOf = tso ? now : Math.Max(_lastBarrierNs.GetValueOrDefault(cpu, 0), now - (storeBufferNs / 4));
        return ValueAt(var, asOf);
    }

    private long ValueAt(int var, long atNs)
    {
        if (!_history.TryGetValue(var, out var h)) return 0;
        long value = 0;
        foreach ((long at, long v) in h)
        {
            if (at > atNs) break;
            value = v;
        }
        return value;
    }

    /// <summary>Makes due stores visible (all of them at a barrier), each from when it left the buffer.</summary>
    private void Drain(List<(int Var, long Value, long DueNs)> buffer, long now, bool atBarrier)
    {
        for (int i = 0; i < buffer.Count;)
        {
            (int var, long value, long due) = buffer[i];
            if (!atBarrier && due > now)
            {
                i++;
                continue;
            }
            buffer.RemoveAt(i);
            if (!_history.TryGetValue(var, out var h)) _history[var] = h = [];
            h.Add((Math.Min(due, now), value));
            if (h.Count > 1 && h[^2].AtNs > h[^1].AtNs) h.Sort((a, b) => a.AtNs.CompareTo(b.AtNs));
        }
    }

    private List<(int Var, long Value, long DueNs)> Buffer(int cpu)
    {
        if (!_buffers.TryGetValue(cpu, out var q)) _buffers[cpu] = q = [];
        return q;
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
