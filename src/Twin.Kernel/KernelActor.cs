using Akka.Actor;
using Twin.Actors;
using Twin.Actors.Journal;

namespace Twin.Kernel;

/// <summary>
/// An actor of the simulated kernel: an Akka persistent actor (<see cref="JournaledActor"/>) that
/// knows the machine. Its state changes only through its own events; it reads other actors'
/// state at an instant and writes it by message. In a whole-run replay it only recovers.
/// </summary>
public abstract class KernelActor : JournaledActor
{
    protected KernelActor(KernelModel kernel, string stream) : base(stream)
    {
        Kernel = kernel;
        kernel.RegisterRef(stream, Self);
    }

    protected KernelModel Kernel { get; }

    /// <summary>The run's one random source.</summary>
    protected DeterministicRandom Random => Loop.Random;

    protected long NowNs => Loop.NowNs;

    /// <summary>Sends <paramref name="message"/> to <paramref name="target"/> after <paramref name="delayNs"/> of virtual time.</summary>
    protected void TellAfter(long delayNs, IActorRef target, object message) => Loop.Scheduler.ScheduleTellOnceNs(delayNs, target, message, Self);

    /// <summary>
    /// The owner's answer to a write whose sender waits for it (inc_mm_tlb_gen's new generation,
    /// whether a trylock took the mutex, the previous mm); a write with token 0 waits for nothing.
    /// </summary>
    protected void Answer(long token, long value)
    {
        if (token != 0) Sender.Tell(new Done(token, value), Self);
    }

    protected sealed override void OnRecovered()
    {
        if (!Kernel.IsReplica) Start();
    }

    /// <summary>The actor's life begins (recovery is over): a new actor journals its creation here.</summary>
    protected virtual void Start()
    {
    }
}
