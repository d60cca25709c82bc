using Twin.Actors;
using Twin.Actors.Supervision;

namespace Twin.Actors.Tests;

public sealed class SupervisionTests
{
    private static (ActorSystem System, ActorRef Summer, List<string> Log) WithStrategy(SupervisorStrategy strategy)
    {
        var log = new List<string>();
        var system = new ActorSystem(1, guardianStrategy: strategy);
        ActorRef s = system.ActorOf(Props.Create(() => new Summer(log.Add)), "s");
        return (system, s, log);
    }

    [Fact]
    public void Restart_should_replace_the_instance_keep_the_mailbox_and_drop_the_failing_message()
    {
        var (system, s, log) = WithStrategy(new OneForOneStrategy(3, 1000, _ => Directive.Restart));
        s.Tell(new Ping(5));
        s.Tell(new Ping(-1));
        s.Tell(new Ping(2));
        system.Run();
        Assert.Equal(["sum=5", "sum=2"], log);
        Assert.Equal(1, system.Restarts);
    }

    [Fact]
    public void Resume_should_keep_the_state()
    {
        var (system, s, log) = WithStrategy(new OneForOneStrategy(3, 1000, _ => Directive.Resume));
        s.Tell(new Ping(5));
        s.Tell(new Ping(-1));
        s.Tell(new Ping(2));
        system.Run();
        Assert.Equal(["sum=5", "sum=7"], log);
    }

    [Fact]
    public void Stop_should_send_later_messages_to_dead_letters()
    {
        var (system, s, log) = WithStrategy(new OneForOneStrategy(3, 1000, _ => Directive.Stop));
        s.Tell(new Ping(-1));
        s.Tell(new Ping(2));
        system.Run();
        Assert.Empty(log);
        Assert.Equal(1, system.DeadLetters);
    }

    [Fact]
    public void Too_many_restarts_in_the_window_should_stop_the_actor()
    {
        var (system, s, log) = WithStrategy(new OneForOneStrategy(2, 1000, _ => Directive.Restart));
        for (int i = 0; i < 4; i++) s.Tell(new Ping(-1));
        s.Tell(new Ping(1));
        system.Run();
        Assert.Equal(2, system.Restarts);
        Assert.Empty(log);
        // The third failure stops it with the fourth failing ping and the good one still queued.
        Assert.Equal(2, system.DeadLetters);
    }

    [Fact]
    public void Escalation_past_the_top_should_halt_the_system()
    {
        var (system, s, _) = WithStrategy(SupervisorStrategy.StoppingEscalate);
        s.Tell(new Ping(-1));
        var e = Assert.Throws<SimulationHaltedException>(() => system.Run());
        Assert.Equal("negative", e.InnerException!.Message);
        Assert.True(system.IsHalted);
    }

    [Fact]
    public void Default_strategy_should_escalate_invariant_violations()
    {
        Assert.Equal(Directive.Escalate, Decide(new InvariantViolationException("x")));
        Assert.Equal(Directive.Restart, Decide(new InvalidOperationException("x")));
    }

    private static Directive Decide(Exception e)
    {
        var system = new ActorSystem(1);
        var child = new ActorCell(system, 0, "c", Props.Create(() => new Summer(_ => { })), null);
        return SupervisorStrategy.Default.Handle(child, e, 0);
    }

    private sealed class Parent : ActorBase
    {
        public Parent(List<string> log)
        {
            ActorRef child = Context.ActorOf(Props.Create(() => new Summer(log.Add)), "child");
            Receive<Ping>(p => child.Tell(p));
        }
    }

    [Fact]
    public void A_parent_strategy_should_govern_its_children()
    {
        var log = new List<string>();
        var system = new ActorSystem(1);
        Props parentProps = Props.Create(() => new Parent(log))
            .WithSupervisorStrategy(new OneForOneStrategy(5, 1000, _ => Directive.Resume));
        ActorRef parent = system.ActorOf(parentProps, "p");
        parent.Tell(new Ping(4));
        parent.Tell(new Ping(-4));
        parent.Tell(new Ping(1));
        system.Run();
        Assert.Equal(["sum=4", "sum=5"], log);
        Assert.Equal(0, system.Restarts);
    }
}
