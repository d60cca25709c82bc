using Twin.Actors.Dispatch;

namespace Twin.Actors;

/// <summary>
/// Base of every actor, after Akka's ReceiveActor: register typed handlers with
/// <see cref="Receive{T}"/> in the constructor; the runtime delivers one message at a time.
/// </summary>
public abstract class ActorBase
{
    protected ActorBase()
    {
        Cell = ActorCell.Constructing
            ?? throw new InvalidOperationException("actors are created by ActorSystem.ActorOf or Context.ActorOf, not with new");
    }

    internal ActorCell Cell { get; }

    protected ActorRef Self => Cell.Self;

    /// <summary>Sender of the message being handled, or <see cref="ActorRef.NoSender"/>.</summary>
    protected ActorRef Sender => Cell.CurrentSender;

    protected IActorContext Context => Cell;

    protected ITimerScheduler Timers => Cell.Timers;

    /// <summary>Registers the handler for messages of type <typeparamref name="T"/>.</summary>
    protected void Receive<T>(Action<T> handler) where T : notnull => Cell.Handlers.Add(handler);

    internal void InvokePostStop() => PostStop();

    internal void InvokePreRestart(Exception reason, object? message) => PreRestart(reason, message);

    internal void InvokeUnhandled(object message) => Unhandled(message);

    /// <summary>Runtime hook around <see cref="PreStart"/>; persistent actors recover here first.</summary>
    internal virtual void AroundPreStart() => PreStart();

    /// <summary>Runtime hook around <see cref="PostRestart"/>; persistent actors recover here first.</summary>
    internal virtual void AroundPostRestart(Exception reason) => PostRestart(reason);

    /// <summary>Called once before the first message (and by <see cref="PostRestart"/>).</summary>
    protected virtual void PreStart()
    {
    }

    /// <summary>Called after the actor stopped; its timers are cancelled already.</summary>
    protected virtual void PostStop()
    {
    }

    /// <summary>Called on the failed instance before it is replaced. Default: stop all children, as Akka does.</summary>
    protected virtual void PreRestart(Exception reason, object? message)
    {
        foreach (ActorCell child in Cell.Children.ToArray()) Cell.System.StopCell(child);
        PostStop();
    }

    /// <summary>Called on the new instance after a restart. Default: <see cref="PreStart"/>.</summary>
    protected virtual void PostRestart(Exception reason) => PreStart();

    /// <summary>A message no handler matched. Default: counted as unhandled.</summary>
    protected virtual void Unhandled(object message) => Cell.System.UnhandledMessages++;
}

/// <summary>What an actor can reach of the runtime while it handles a message (Akka's IActorContext).</summary>
public interface IActorContext
{
    ActorSystem System { get; }

    ActorRef Self { get; }

    ActorRef Parent { get; }

    /// <summary>Current virtual time in nanoseconds.</summary>
    long NowNs { get; }

    /// <summary>The run's seeded random source.</summary>
    DeterministicRandom Random { get; }

    ActorRef ActorOf(Props props, string name);

    void Stop(ActorRef actor);
}
