using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;

namespace Twin.Actors.Runtime;


/// <summary>
/// Creates and ends the actor system of one run. Creation runs Akka's boot on the caller's thread
/// (loggers included); from then on nothing runs unless the caller drives the loop. Ending it
/// terminates the system and drives the loop until Akka reports it terminated.
/// </summary>
public static class SimulationSystem
{
    public const string Name = "twin";

    /// <summary>One actor system on a fresh run loop; <paramref name="config"/> is usually <see cref="SimulationHocon.For"/>.</summary>
    public static ActorSystem Create(Config config)
    {
        ActorSystem system = ActorSystem.Create(Name, config);
        RunLoop.Of(system).EndBoot();
        return system;
    }

    /// <summary>Terminates <paramref name="system"/>, running what its actors still do on the way down (PostStop, the journal's last answers).</summary>
    public static void Shutdown(ActorSystem system)
    {
        RunLoop loop = RunLoop.Of(system);
        Task terminated = system.Terminate();
        var patience = Stopwatch.StartNew();
        var spin = new SpinWait();
        while (!terminated.IsCompleted)
        {
            if (loop.RunForShutdown())
            {
                spin.Reset();
                continue;
            }
            if (patience.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"actor system '{system.Name}' did not terminate within 10 s");
            }
            // The rest of the termination runs on Akka's threads: spin briefly, then block on it
            // (waking within a millisecond for work handed to the loop) rather than burn the core
            // that a parallel run, or Akka's own thread, needs.
            if (spin.NextSpinWillYield) terminated.Wait(TimeSpan.FromMilliseconds(1));
            else spin.SpinOnce();
        }
    }
}
