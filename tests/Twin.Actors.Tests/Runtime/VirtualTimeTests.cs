using Akka.Actor;
using Twin.Actors.Runtime;

namespace Twin.Actors.Tests.Runtime;


/// <summary>Records (message, virtual time) of what it receives.</summary>
public sealed class Clocked : ReceiveActor
{
    public Clocked(List<(object, long)> log)
    {
        RunLoop loop = RunLoop.Of(Context.System);
        ReceiveAny(m => log.Add((m, loop.NowNs)));
    }
}

public sealed record Tick(string Name) : ISimulationMessage;

public sealed class VirtualTimeTests : LoopTestKit
{
    [Fact]
    public void delays_are_nanoseconds_of_virtual_time_and_ties_keep_insertion_order()
    {
        RunLoop loop = StartLoop();
        var log = new List<(object, long)>();
        IActorRef a = Sys.ActorOf(Props.Create(() => new Clocked(log)), "a");
        loop.Scheduler.ScheduleTellOnceNs(1_234, a, new Tick("late"), ActorRefs.NoSender);
        loop.Scheduler.ScheduleTellOnceNs(7, a, new Tick("first"), ActorRefs.NoSender);
        loop.Scheduler.ScheduleTellOnceNs(7, a, new Tick("second"), ActorRefs.NoSender);
        // Akka's own TimeSpan API: 100 ns ticks, on the same clock.
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromTicks(5), a, new Tick("akka"), ActorRefs.NoSender);
        ICancelable cancelled = Sys.Scheduler.ScheduleTellOnceCancelable(TimeSpan.FromTicks(1), a, new Tick("cancelled"), ActorRefs.NoSender);
        cancelled.Cancel();
        Drive();
        Assert.Equal(
            [(new Tick("first"), 7L), (new Tick("second"), 7L), (new Tick("akka"), 500L), (new Tick("late"), 1_234L)],
            log);
        Assert.Equal(1_234, loop.NowNs);
        Assert.Equal(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(12), Sys.Scheduler.Now);
    }

    [Fact]
    public void time_does_not_move_while_anything_is_ready()
    {
        RunLoop loop = StartLoop();
        var log = new List<(object, long)>();
        IActorRef a = Sys.ActorOf(Props.Create(() => new Clocked(log)), "a");
        loop.Scheduler.ScheduleTellOnceNs(0, a, new Tick("timer at 0"), ActorRefs.NoSender);
        for (int i = 0; i < 5; i++) a.Tell(new Tick($"now {i}"));
        Drive();
        // Ten messages told now are all handled (one per pick) before the zero-delay timer is released.
        Assert.Equal(["now 0", "now 1", "now 2", "now 3", "now 4", "timer at 0"], log.Select(e => ((Tick)e.Item1).Name));
        Assert.Equal(6, loop.SimulationMessages);
    }
}

/// <summary>Fails on "boom".</summary>
public sealed class Brittle : ReceiveActor
{
    public Brittle() => Receive<Tick>(t =>
    {
        if (t.Name == "boom") throw new InvalidOperationException("brittle broke");
    });
}

public sealed class HaltingTests : LoopTestKit
{
    [Fact]
    public void a_failing_actor_halts_the_run_with_its_exception()
    {
        RunLoop loop = StartLoop();
        IActorRef b = Sys.ActorOf(Props.Create(() => new Brittle()), "b");
        b.Tell(new Tick("fine"));
        b.Tell(new Tick("boom"));
        var halted = Assert.Throws<SimulationHaltedException>(() => Drive());
        Assert.Equal("brittle broke", halted.InnerException!.Message);
    }

    [Fact]
    public void work_handed_over_from_another_thread_halts_the_run()
    {
        RunLoop loop = StartLoop();
        var log = new List<(object, long)>();
        IActorRef a = Sys.ActorOf(Props.Create(() => new Clocked(log)), "a");
        Drive();
        var other = new Thread(() => a.Tell(new Tick("from another thread")));
        other.Start();
        other.Join();
        var halted = Assert.Throws<SimulationHaltedException>(() => Drive());
        Assert.Contains("from thread", halted.InnerException!.Message);
        Assert.Empty(log);
    }

    /// <summary>A message of Twin's that forgot its marker would skip the scheduling choice.</summary>
    private sealed record Unmarked(int N);

    [Fact]
    public void a_message_of_the_model_without_the_simulation_marker_is_refused()
    {
        RunLoop loop = StartLoop();
        var log = new List<(object, long)>();
        IActorRef a = Sys.ActorOf(Props.Create(() => new Clocked(log)), "a");
        a.Tell(new Tick("marks the mailbox as the loop's"));
        Drive();
        a.Tell(new Unmarked(1));
        var halted = Assert.Throws<SimulationHaltedException>(() => Drive());
        Assert.Contains("Unmarked is sent between actors of a run but is not an ISimulationMessage", halted.InnerException!.Message);
    }
}
