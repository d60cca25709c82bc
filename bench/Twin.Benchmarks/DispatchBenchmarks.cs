using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Twin.Actors.Runtime;

namespace Twin.Benchmarks;

/// <summary>The run loop's dispatch on Akka: a simulation message told, picked from the ready mailboxes, and handled.</summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private const int Messages = 100_000;

    private sealed record Ping(int Left) : ISimulationMessage;

    private sealed class Bouncer : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            if (message is Ping { Left: > 0 } p) Self.Tell(new Ping(p.Left - 1));
        }
    }

    private ActorSystem _system = null!;
    private RunLoop _loop = null!;
    private IActorRef _bouncer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _system = SimulationSystem.Create(SimulationHocon.For(1));
        _loop = RunLoop.Of(_system);
        _bouncer = _system.ActorOf(Props.Create(() => new Bouncer()), "bouncer");
        _loop.Run();
    }

    [GlobalCleanup]
    public void Cleanup() => SimulationSystem.Shutdown(_system);

    [Benchmark(OperationsPerInvoke = Messages, Description = "tell + dispatch one simulation message")]
    public long TellAndDispatch()
    {
        _bouncer.Tell(new Ping(Messages - 1));
        return _loop.Run();
    }
}
