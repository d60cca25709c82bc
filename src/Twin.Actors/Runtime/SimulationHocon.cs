using System.Globalization;
using Akka.Configuration;

namespace Twin.Actors.Runtime;

/// <summary>
/// The HOCON that puts an actor system on a run loop (docs/runtime.md explains each key): Twin's
/// scheduler and dispatcher everywhere Akka looks for one, Twin's mailbox for every mailbox
/// requirement, Twin's in-loop journal and snapshot store, Akka's log through Serilog, and
/// nothing that starts a thread or a timer of its own.
/// </summary>
public static class SimulationHocon
{
    private const string Dispatcher = "Twin.Actors.Runtime.LoopDispatcherConfigurator, Twin.Actors";
    private const string Mailbox = "Twin.Actors.Runtime.LoopMailboxType, Twin.Actors";

    /// <param name="strategy">"random" or "pct".</param>
    public static Config For(ulong seed, string strategy = "random", int pctDepth = 3, long pctHorizon = 100_000, string logLevel = "WARNING") =>
        ConfigurationFactory.ParseString(Text(seed, strategy, pctDepth, pctHorizon, logLevel));

    public static string Text(ulong seed, string strategy, int pctDepth, long pctHorizon, string logLevel) => $$"""
        twin.run {
          seed = "{{seed.ToString(CultureInfo.InvariantCulture)}}"
          strategy = {{strategy}}
          pct-depth = {{pctDepth.ToString(CultureInfo.InvariantCulture)}}
          pct-horizon = {{pctHorizon.ToString(CultureInfo.InvariantCulture)}}
        }
        akka {
          loglevel = {{logLevel}}
          stdout-loglevel = OFF
          loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
          loggers-dispatcher = akka.actor.default-dispatcher
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          log-config-on-start = off
          scheduler.implementation = "Twin.Actors.Runtime.VirtualTimeScheduler, Twin.Actors"
          actor {
            # Twin's events in Akka's serialization, for anything that stores them through Akka.
            serializers.twin-event = "Twin.Actors.Journal.EventSerializer, Twin.Actors"
            serialization-bindings { "Twin.Persistence.Codec.IJournaledEvent, Twin.Persistence" = twin-event }
            guardian-supervisor-strategy = "Twin.Actors.Runtime.HaltingSupervisorStrategy, Twin.Actors"
            default-dispatcher { type = "{{Dispatcher}}", throughput = 1 }
            internal-dispatcher { type = "{{Dispatcher}}", throughput = 1 }
            default-blocking-io-dispatcher { type = "{{Dispatcher}}", throughput = 1 }
            default-mailbox.mailbox-type = "{{Mailbox}}"
            mailbox {
              unbounded-queue-based.mailbox-type = "{{Mailbox}}"
              bounded-queue-based.mailbox-type = "{{Mailbox}}"
              unbounded-deque-based.mailbox-type = "{{Mailbox}}"
              bounded-deque-based.mailbox-type = "{{Mailbox}}"
              logger-queue.mailbox-type = "{{Mailbox}}"
            }
          }
          coordinated-shutdown {
            run-by-actor-system-terminate = off
            run-by-clr-shutdown-hook = off
            terminate-actor-system = off
          }
          persistence {
            # A whole-run replay recovers every actor of a run at once (their recoveries end together).
            max-concurrent-recoveries = 1000000
            dispatchers {
              default-plugin-dispatcher { type = "{{Dispatcher}}", throughput = 1 }
              default-replay-dispatcher { type = "{{Dispatcher}}", throughput = 1 }
              default-stream-dispatcher { type = "{{Dispatcher}}", throughput = 1 }
            }
            journal.plugin = "akka.persistence.journal.twin"
            journal.twin {
              class = "Twin.Actors.Journal.InLoopJournal, Twin.Actors"
              plugin-dispatcher = akka.actor.default-dispatcher
              replay-dispatcher = akka.actor.default-dispatcher
            }
            snapshot-store.plugin = "akka.persistence.snapshot-store.twin"
            snapshot-store.twin {
              class = "Twin.Actors.Journal.InLoopSnapshotStore, Twin.Actors"
              plugin-dispatcher = akka.actor.default-dispatcher
            }
          }
        }
        """;
}
