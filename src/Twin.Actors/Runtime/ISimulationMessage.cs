namespace Twin.Actors.Runtime;

/// <summary>
/// Marks a message of the simulated machine (a CPU's next step, a wakeup, an IPI's arrival). The
/// run loop makes its seeded scheduling choices only between mailboxes whose next message is one
/// of these; every other message (Akka's own: system messages, the persistence protocol, logging)
/// runs at once, in the order it was sent, so that Akka's machinery never consumes a choice and a
/// run with a journal makes exactly the choices of a run without one.
/// </summary>
public interface ISimulationMessage;
