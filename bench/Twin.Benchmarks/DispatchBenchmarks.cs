using BenchmarkDotNet.Attributes;
using Twin.Actors;

namespace Twin.Benchmarks;

/// <summary>The runtime's dispatch: a struct message told, queued by virtual time, and handled.</summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private const int Messages = 100_000;

    private readonly record struct Ping(int Left);

    private sealed class Bouncer : ActorBase
    {
        public Bouncer() => Receive<Ping>(p =>
        {
            if (p.Left > 0) Self.Tell(new Ping(p.Left - 1));
        });
    }

    private ActorSystem _system = null!;
    private ActorRef _bouncer;

    [GlobalSetup]
    public void Setup()
    {
        _system = new ActorSystem(seed: 1);
        _bouncer = _system.ActorOf(Props.Create(() => new Bouncer()), "bouncer");
        _system.Run();
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "tell + dispatch one struct message")]
    public long TellAndDispatch()
    {
        _bouncer.Tell(new Ping(Messages - 1));
        return _system.Run();
    }
}
