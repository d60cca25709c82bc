using Akka.Actor;

namespace Twin.Actors.Runtime;

/// <summary>
/// Props from a plain factory delegate (Akka's indirect actor producer): no expression tree to
/// compile for every actor, which matters for a run that creates an mm actor per exec.
/// </summary>
public static class ActorFactory
{
    public static Props Props<TActor>(Func<TActor> make) where TActor : Akka.Actor.ActorBase =>
        Akka.Actor.Props.CreateBy(new Producer<TActor>(make));

    private sealed class Producer<TActor>(Func<TActor> make) : IIndirectActorProducer where TActor : Akka.Actor.ActorBase
    {
        public Type ActorType => typeof(TActor);

        public Akka.Actor.ActorBase Produce() => make();

        public void Release(Akka.Actor.ActorBase actor)
        {
        }
    }
}
