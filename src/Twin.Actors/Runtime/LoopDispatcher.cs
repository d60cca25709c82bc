using Akka.Configuration;
using Akka.Dispatch;

namespace Twin.Actors.Runtime;

/// <summary>
/// Akka's dispatcher for every dispatcher id of a run (default, internal, the persistence
/// plugins'): executing a task only hands it to the run loop, which runs it on its own thread
/// when its turn comes. No thread pool, no executor.
/// </summary>
public sealed class LoopDispatcher(MessageDispatcherConfigurator configurator, RunLoop loop) : MessageDispatcher(configurator)
{
    protected override void ExecuteTask(IRunnable run) => loop.Execute(run);

    protected override void Shutdown()
    {
        // Nothing to stop: the loop's thread is the caller's.
    }
}

/// <summary>Named in HOCON as a dispatcher's <c>type</c>; one dispatcher per id, on the system's run loop.</summary>
public sealed class LoopDispatcherConfigurator : MessageDispatcherConfigurator
{
    private readonly LoopDispatcher _dispatcher;

    public LoopDispatcherConfigurator(Config config, IDispatcherPrerequisites prerequisites) : base(config, prerequisites)
    {
        RunLoop loop = (prerequisites.Scheduler as VirtualTimeScheduler)?.Loop
            ?? throw new ConfigurationException("Twin's dispatcher needs akka.scheduler.implementation = Twin.Actors.Runtime.VirtualTimeScheduler");
        _dispatcher = new LoopDispatcher(this, loop);
    }

    public override MessageDispatcher Dispatcher() => _dispatcher;
}
