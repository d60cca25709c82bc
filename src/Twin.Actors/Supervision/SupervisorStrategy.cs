namespace Twin.Actors.Supervision;

/// <summary>What a supervisor does with a failed child (Akka's Directive).</summary>
public enum Directive
{
    /// <summary>Keep the child and its state; drop the failing message.</summary>
    Resume,
    /// <summary>Replace the child with a fresh instance from its Props; its mailbox is kept.</summary>
    Restart,
    /// <summary>Stop the child; its later messages go to dead letters.</summary>
    Stop,
    /// <summary>Fail the supervisor itself with the same exception.</summary>
    Escalate,
}

/// <summary>Decides per failure; <see cref="OneForOneStrategy"/> applies the decision to the failed child only.</summary>
public abstract class SupervisorStrategy
{
    /// <summary>
    /// Restart on ordinary exceptions, at most 10 times per virtual second, then stop; escalate
    /// model invariant violations, which mean the simulation itself is wrong and must halt.
    /// </summary>
    public static SupervisorStrategy Default { get; } = new OneForOneStrategy(10, 1_000_000_000, static e =>
        e is InvariantViolationException ? Directive.Escalate : Directive.Restart);

    /// <summary>Halt the system on any failure: the choice for simulations, where a failure is a finding.</summary>
    public static SupervisorStrategy StoppingEscalate { get; } = new OneForOneStrategy(0, 0, static _ => Directive.Escalate);

    internal abstract Directive Handle(ActorCell child, Exception failure, long nowNs);
}

/// <summary>Applies the decider's directive to the failed child only; counts restarts in a virtual-time window.</summary>
public sealed class OneForOneStrategy(int maxNrOfRetries, long withinTimeRangeNs, Func<Exception, Directive> decider) : SupervisorStrategy
{
    public int MaxNrOfRetries { get; } = maxNrOfRetries;

    public long WithinTimeRangeNs { get; } = withinTimeRangeNs;

    internal override Directive Handle(ActorCell child, Exception failure, long nowNs)
    {
        Directive d = decider(failure);
        if (d != Directive.Restart) return d;
        if (nowNs - child.RestartWindowStartNs > WithinTimeRangeNs)
        {
            child.RestartWindowStartNs = nowNs;
            child.RestartsInWindow = 0;
        }
        child.RestartsInWindow++;
        return child.RestartsInWindow > MaxNrOfRetries ? Directive.Stop : Directive.Restart;
    }
}

/// <summary>A model invariant failed: the state the twin reached is impossible in the kernel.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
