using Twin.Actors;

namespace Twin.Actors.Tests;

public sealed class TimerTests
{
    private readonly record struct Start(int Mode);

    private sealed class Ticker : ActorBase
    {
        public Ticker(List<string> log)
        {
            Receive<Start>(s =>
            {
                switch (s.Mode)
                {
                    case 0: Timers.StartSingleTimer("t", new Ping(1), 100); break;
                    case 1: Timers.StartPeriodicTimer("t", new Ping(2), 10, 25); break;
                    case 2: Timers.Cancel("t"); break;
                    case 3: Timers.StartSingleTimer("t", new Ping(3), 40); break;
                }
            });
            Receive<Ping>(p => log.Add($"{p.Value}@{Context.NowNs}"));
        }
    }

    [Fact]
    public void Single_timer_should_fire_once_after_its_delay()
    {
        var log = new List<string>();
        var system = new ActorSystem(1);
        ActorRef t = system.ActorOf(Props.Create(() => new Ticker(log)), "t");
        t.Tell(new Start(0));
        system.Run();
        Assert.Equal(["1@100"], log);
    }

    [Fact]
    public void Periodic_timer_should_fire_every_interval_until_cancelled()
    {
        var log = new List<string>();
        var system = new ActorSystem(1);
        ActorRef t = system.ActorOf(Props.Create(() => new Ticker(log)), "t");
        t.Tell(new Start(1));
        system.Run(untilNs: 80);
        system.ScheduleTellOnce(0, t, new Start(2));
        system.Run();
        Assert.Equal(["2@10", "2@35", "2@60"], log);
    }

    [Fact]
    public void Restarting_a_key_should_replace_the_pending_timer()
    {
        var log = new List<string>();
        var system = new ActorSystem(1);
        ActorRef t = system.ActorOf(Props.Create(() => new Ticker(log)), "t");
        t.Tell(new Start(0));
        t.Tell(new Start(3));
        system.Run();
        Assert.Equal(["3@40"], log);
    }
}
