using Akka.Actor;
using Akka.Actor.Internal;

namespace Twin.Actors.Runtime;


/// <summary>
/// The user guardian's strategy in a run (<c>akka.actor.guardian-supervisor-strategy</c>): a
/// failing top-level actor stops, and so does the run, with the failure as its cause. A kernel
/// actor fails only when a model invariant breaks or its journal does; restarting it would hide
/// the finding and replay work the run already did.
/// </summary>
public sealed class HaltingSupervisorStrategy : SupervisorStrategyConfigurator
{
    public override SupervisorStrategy Create() => new HaltRun();

    private sealed class HaltRun() : OneForOneStrategy(0, 0, static _ => Directive.Stop, loggingEnabled: false)
    {
        public override void ProcessFailure(IActorContext context, bool restart, IActorRef child, Exception cause, ChildRestartStats stats, IReadOnlyCollection<ChildRestartStats> children)
        {
            RunLoop.Of(context.System).Halt(cause);
            base.ProcessFailure(context, restart, child, cause, stats, children);
        }
    }
}
