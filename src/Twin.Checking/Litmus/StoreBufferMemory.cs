using Twin.Actors.Persistence;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Checking.Litmus;

/// <summary>
/// The user-visible memory of a litmus experiment, as an operational model over the event stream:
/// each CPU has a FIFO store buffer; a user store leaves it <c>storeBufferNs</c> after it was made,
/// or at the CPU's next full barrier or core-serializing event. A load reads the CPU's own newest
/// buffered store to the variable, else memory. On weakly ordered architectures (everything but
/// x86's TSO) a load may also be satisfied early: it reads memory as it was at the later of the
/// CPU's last full barrier and <c>storeBufferNs</c> ago, which lets it pass earlier accesses up to
/// the last barrier. Only observes: it decides nothing the kernel model sees.
/// </summary>
public sealed class StoreBufferMemory(bool tso, long storeBufferNs) : EventTap
{
    private readonly Dictionary<int, Queue<(int Var, long Value, long AtNs)>> _buffers = [];
    private readonly Dictionary<int, List<(long AtNs, long Value)>> _history = [];
    private readonly Dictionary<int, long> _lastBarrierNs = [];
    private readonly Dictionary<(int Task, int Reg), long> _registers = [];

    /// <summary>Register values after the run, by (task, register id); a register never loaded is absent.</summary>
    public IReadOnlyDictionary<(int Task, int Reg), long> Registers => _registers;

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        long now = meta.TimestampNs;
        DrainOlderThan(now - storeBufferNs);
        if (KernelView.Is(in evt, out UserStored st))
        {
            Buffer(st.Cpu).Enqueue((st.Var, st.Value, now));
        }
        else if (KernelView.Is(in evt, out UserLoaded ld))
        {
            _registers[(ld.Task, ld.Reg)] = Load(ld.Cpu, ld.Var, now);
        }
        else if (KernelView.Is(in evt, out FullBarrier b))
        {
            Drain(b.Cpu, long.MaxValue, now);
            _lastBarrierNs[b.Cpu] = now;
        }
        else if (KernelView.Is(in evt, out CoreSerialized cs))
        {
            Drain(cs.Cpu, long.MaxValue, now);
        }
    }

    private long Load(int cpu, int var, long now)
    {
        long? forwarded = null;
        foreach ((int v, long value, long _) in Buffer(cpu))
        {
            if (v == var) forwarded = value;
        }
        if (forwarded is long f) return f;
        long asOf = tso ? now : Math.Max(_lastBarrierNs.GetValueOrDefault(cpu, 0), now - storeBufferNs);
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

    private void DrainOlderThan(long cutoffNs)
    {
        foreach ((int cpu, var q) in _buffers)
        {
            if (q.Count > 0 && q.Peek().AtNs <= cutoffNs) Drain(cpu, cutoffNs, -1);
        }
    }

    /// <summary>Makes the CPU's buffered stores made at or before <paramref name="madeBy"/> visible, in order (TSO's FIFO).</summary>
    private void Drain(int cpu, long madeBy, long now)
    {
        Queue<(int Var, long Value, long AtNs)> q = Buffer(cpu);
        while (q.Count > 0 && q.Peek().AtNs <= madeBy)
        {
            (int var, long value, long at) = q.Dequeue();
            if (!_history.TryGetValue(var, out var h)) _history[var] = h = [];
            // Visible from when it left the buffer: at the barrier (now), or storeBufferNs after it was made.
            h.Add((now >= 0 ? now : at + storeBufferNs, value));
            if (h.Count > 1 && h[^2].AtNs > h[^1].AtNs) h.Sort((a, b) => a.AtNs.CompareTo(b.AtNs));
        }
    }

    private Queue<(int Var, long Value, long AtNs)> Buffer(int cpu)
    {
        if (!_buffers.TryGetValue(cpu, out var q)) _buffers[cpu] = q = new();
        return q;
    }
}
