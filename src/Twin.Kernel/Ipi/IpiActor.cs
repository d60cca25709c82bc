using Akka.Actor;
using Twin.Actors;
using Twin.Actors.Runtime;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Kernel.Ipi;

/// <summary>The sender queued a cross-call on this csd: raise the interrupt after <paramref name="LatencyNs"/>.</summary>
public readonly record struct CsdQueue(IpiSent Sent, long WaitToken, long LatencyNs) : ISimulationMessage;

/// <summary>The IPI's latency is over: its interrupt reaches the target.</summary>
public readonly record struct IpiDue : ISimulationMessage;

/// <summary>The handler ran on the target: csd_unlock(), and the waiting sender sees it.</summary>
public readonly record struct CsdUnlock : ISimulationMessage;

/// <summary>
/// One call_single_data (stream "ipi-N"): the csd a sending CPU keeps for one target, as
/// smp_call_function_many()'s per-CPU cfd_data does (N = sender × nr_cpus + target). Queued by the
/// sender, it waits out a latency drawn by the sender, raises the interrupt on its target (whose
/// CPU reads the csd and runs the handler in hardirq context when its interrupts are enabled),
/// and on csd_unlock acknowledges a sender that waits. A sender has at most one call in flight to
/// each target (it waits for them all), so one csd per pair suffices.
/// </summary>
public sealed class IpiActor : KernelActor
{
    public IpiActor(KernelModel kernel, int slot) : base(kernel, StreamOf(slot))
    {
        Slot = slot;
        Ref = Self;
        kernel.Register(this);
        ApplyWith<IpiSent>(e =>
        {
            Invariant.Assert(Current is null, "a csd is queued only once its last call completed");
            Current = e;
        });
        ApplyWith<IpiCompleted>(e =>
        {
            Invariant.Assert(Current is IpiSent s && s.Ipi == e.Ipi, "an IPI completes once, after it was sent");
            Current = null;
        });
    }

    public int Slot { get; }

    public IActorRef Ref { get; }

    /// <summary>The call in flight, or null when the csd is free.</summary>
    public IpiSent? Current { get; private set; }

    /// <summary>Token the sender waits on; 0 when nobody waits.</summary>
    private long _waitToken;

    public static int SlotOf(int from, int to, int cpus) => from * cpus + to;

    public static string StreamOf(int slot) => $"ipi-{slot}";

    public override void HashState(ref StateHasher hasher)
    {
        hasher.Add(Slot);
        hasher.Add(Current?.Ipi ?? 0);
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case CsdQueue q:
                Invariant.Assert(Current is null, "a csd is queued only once its last call completed");
                Raise(q.Sent);
                _waitToken = q.WaitToken;
                TellAfter(q.LatencyNs, Self, new IpiDue());
                break;
            case IpiDue:
                Kernel.CpuRefs[Current!.Value.To].Tell(new IpiArrived(Slot), Self);
                break;
            case CsdUnlock:
                IpiSent sent = Current!.Value;
                Raise(new IpiCompleted(sent.Ipi));
                if (_waitToken != 0) Kernel.CpuRefs[sent.From].Tell(new IpiAcked(_waitToken), Self);
                _waitToken = 0;
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}
