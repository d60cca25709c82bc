using Akka.Actor;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Ipi;

namespace Twin.Kernel.Cpu;

// Sending cross-calls (kernel/smp.c: smp_call_function_many_cond(), on_each_cpu_mask()): each goes
// through this CPU's csd for its target (an actor), raises the IPI after a latency drawn from the
// seed (and the fault plan), and a sender that waits counts the acknowledgements (csd_lock_wait()).
public sealed partial class CpuActor
{
    /// <summary>Room for every CPU number (at most <see cref="Limits.MaxCpus"/>) in the low decimal digits of an IPI id.</summary>
    private const long IpiIdCpuBase = 1000;

    private IActorRef?[]? _csds;
    private long _ipisSent;

    /// <summary>Handlers of the batch in flight (sent with wait=1) not yet acknowledged.</summary>
    private long _acksPending;

    /// <summary>The batch in flight: acknowledgements of an earlier batch are stale.</summary>
    private long _waitToken;

    private long _nextWaitToken;

    /// <summary>Starts a batch of IPIs sent with wait=1; <see cref="CsdLockWait"/> waits for them.</summary>
    private void BeginWait()
    {
        _acksPending = 0;
        _waitToken = ++_nextWaitToken;
    }

    /// <summary>Queues a cross-call on this CPU's csd for <paramref name="to"/> and raises the IPI (online targets only).</summary>
    private void SendIpi(int to, IpiKind kind, int mm, long gen)
    {
        // Cross-calls go to cpu_online_mask only.
        if (!Cpu(to).Online) return;
        _acksPending++;
        RaiseIpi(to, kind, mm, gen);
    }

    /// <summary>The IPI itself, for a call already counted as pending (a deferral refused).</summary>
    private void RaiseIpi(int to, IpiKind kind, int mm, long gen)
    {
        TimingConfig t = Kernel.Config.Timing;
        long latency = Random.NextLong(t.IpiNsMin, t.IpiNsMax);
        if (Kernel.Faults is { } faults) latency = InjectIpiFault(faults, to, kind, latency);
        // IPI ids are unique in a run and read in decimal: this CPU's count of IPIs sent, then the
        // CPU in the last three digits (IPI 2003 is CPU 3's second).
        var sent = new IpiSent(++_ipisSent * IpiIdCpuBase + Id, Id, to, kind, mm, gen);
        Kernel.CsdFor(Context, Id, to, ref _csds).Tell(new CsdQueue(sent, _waitToken, latency), Self);
    }

    /// <summary>Applies the first IPI fault of the plan that fires for this IPI; returns the latency it ends up with.</summary>
    private long InjectIpiFault(FaultInjector faults, int to, IpiKind kind, long latency)
    {
        if (faults.OnIpiSend(to, kind, out long ns) is not { } rule) return latency;
        Raise(new FaultInjected(Id, rule.Kind, to, (int)kind, ns));
        switch (rule.Kind)
        {
            case FaultKind.IpiDrop:
                // The interrupt is lost; the csd stays queued until csd_lock_wait() gives up
                // waiting and re-sends the IPI (kernel/smp.c, CSD lock timeout).
            case FaultKind.IpiDelay:
                return latency + ns;
            case FaultKind.IpiDuplicate:
                TellAfter(latency + ns, Kernel.CpuRefs[to], new SpuriousIrq(Storm: false));
                return latency;
            default:
                return latency;
        }
    }

    /// <summary>A handler of the batch finished: the last one ends the task's wait (at the IRET if an exception handler runs).</summary>
    private void OnIpiAcked(IpiAcked ack)
    {
        if (ack.Token != _waitToken || _acksPending == 0) return;
        if (--_acksPending > 0) return;
        if (InException) _exception.AcksDone = true;
        else _task.Resume();
    }

    /// <summary>The answer to a deferral (task isolation): set (counts as done) or refused (the CPU gets the IPI).</summary>
    private void OnCtWorkAnswer(CtWorkAnswer answer)
    {
        if (answer.WaitToken != _waitToken) return;
        if (!answer.Deferred)
        {
            RaiseIpi(answer.Cpu, IpiKind.TextPokeSync, 0, 0);
            return;
        }
        OnIpiAcked(new IpiAcked(answer.WaitToken));
    }
}
