using Twin.Actors.Runtime;

namespace Twin.Actors.Tests.Runtime;

/// <summary>
/// Akka.TestKit on a run loop: the system under test is a simulation system (Twin's dispatcher,
/// scheduler and journal); the test actor stays on TestKit's calling-thread dispatcher. A test
/// calls <see cref="StartLoop"/> first (on its own thread: a run has one), creates its actors,
/// drives the loop, then expects what was delivered.
/// </summary>
public abstract class LoopTestKit(ulong seed = 1, string strategy = "random")
    : Akka.TestKit.Xunit2.TestKit(SimulationHocon.For(seed, strategy))
{
    private RunLoop? _loop;

    protected RunLoop Loop => _loop ?? throw new InvalidOperationException("call StartLoop() first");

    /// <summary>Ends the system's boot on this thread: from now on nothing runs unless the test drives the loop.</summary>
    protected RunLoop StartLoop()
    {
        _loop = RunLoop.Of(Sys);
        _loop.EndBoot();
        return _loop;
    }

    /// <summary>Runs the loop until nothing is left (timers included), at most <paramref name="max"/> runs.</summary>
    protected long Drive(long max = 1_000_000) => Loop.Run(max);

    protected override void AfterAll()
    {
        if (_loop is not null) SimulationSystem.Shutdown(Sys);
        base.AfterAll();
    }
}
