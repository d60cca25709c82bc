using Twin.Actors.Supervision;

namespace Twin.Actors;

/// <summary>How to create (and re-create on restart) an actor, as Akka's Props.</summary>
public sealed class Props
{
    private Props(Func<ActorBase> factory, Type actorType)
    {
        Factory = factory;
        ActorType = actorType;
    }

    internal Func<ActorBase> Factory { get; }

    public Type ActorType { get; }

    /// <summary>Strategy this actor applies to its children; null = <see cref="SupervisorStrategy.Default"/>.</summary>
    public SupervisorStrategy? SupervisorStrategy { get; private init; }

    public static Props Create<TActor>(Func<TActor> factory) where TActor : ActorBase => new(factory, typeof(TActor));

    public Props WithSupervisorStrategy(SupervisorStrategy strategy) => new(Factory, ActorType) { SupervisorStrategy = strategy };
}
