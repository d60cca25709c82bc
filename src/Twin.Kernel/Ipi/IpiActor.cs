using Twin.Actors;
using Twin.Actors.Persistence;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Kernel.Ipi;

/// <summary>Delivery of an IPI after its latency.</summary>
public readonly record struct IpiDue;

/// <summary>
/// One in-flight IPI (stream "ipi-N"), after the kernel's <c>call_single_data</c>: created when
/// sent, it waits out a latency drawn from the runtime, raises the interrupt on its target (whose
/// CPU runs the handler in hardirq context when its interrupts are enabled), and on completion
/// acknowledges the sender. Like a csd, an IPI actor is reused once completed, so sending
/// allocates nothing.
/// </summary>
public sealed class IpiActor : PersistentActor
{
    private readonly Kernel _kernel;

    public IpiActor(Kernel kernel, int slot)
    {
        _kernel = kernel;
        Slot = slot;
        kernel.RegisterIpi(this);
        Recover<IpiSent>(e => Current = e);
        Recover<IpiCompleted>(e =>
        {
            Invariant.Assert(Current is IpiSent s && s.Ipi == e.Ipi, "an IPI completes once, after it was sent");
            Current = null;
        });
        Command<IpiDue>(_ => _kernel.CpuRefs[Current!.Value.To].Tell(new IpiArrived(Slot)));
    }

    public int Slot { get; }

    /// <summary>The IPI in flight, or null when the slot is free.</summary>
    public IpiSent? Current { get; private set; }

    /// <summary>Token the sender waits on; 0 when nobody waits.</summary>
    public long WaitToken { get; private set; }

    // Formatted once: the id is read on every persist and at every state-hash checkpoint.
    public override string PersistenceId => _persistenceId ??= StreamOf(Slot);

    private string? _persistenceId;

    public static string StreamOf(int slot) => $"ipi-{slot}";

    public override void HashState(ref StateHasher hasher)
    {
        hasher.Add(Slot);
        hasher.Add(Current?.Ipi ?? 0);
    }

    /// <summary>Queues the csd and raises the interrupt; the handler runs after the drawn latency.</summary>
    public void Send(IpiSent ipi, long waitToken, long latencyNs)
    {
        Invariant.Assert(Current is null, "a csd is reused only after completion");
        Persist(ipi);
        WaitToken = waitToken;
        Context.System.ScheduleTellOnce(latencyNs, Self, new IpiDue());
    }

    /// <summary>The handler ran on the target: unlock the csd and acknowledge a waiting sender.</summary>
    public void Complete()
    {
        IpiSent ipi = Current!.Value;
        long token = WaitToken;
        Persist(new IpiCompleted(ipi.Ipi));
        WaitToken = 0;
        _kernel.ReleaseIpi(this);
        if (token != 0) _kernel.CpuRefs[ipi.From].Tell(new IpiAcked(token));
    }
}
