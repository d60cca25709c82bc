using Twin.Kernel;

namespace Twin.Simulation.Config;

/// <summary>Everything that, with the code version, fixes a run. Every key is documented in docs/config.md.</summary>
public sealed record TwinConfig
{
    /// <summary>Seed of the run's random source.</summary>
    public ulong Seed { get; init; } = 1;

    public KernelConfig Kernel { get; init; } = new();

    /// <summary>Stop at the first message boundary at or after this many journaled events.</summary>
    public long Events { get; init; } = 1_000_000;

    /// <summary>Record the state hash every this many events (0: only at the end).</summary>
    public long CheckpointEveryEvents { get; init; } = 100_000;

    /// <summary>How the runtime picks among actors ready at the same virtual time: "random" or "pct".</summary>
    public string Strategy { get; init; } = "random";

    /// <summary>PCT: ordering constraints a bug may need (change points + 1).</summary>
    public int PctDepth { get; init; } = 3;

    /// <summary>PCT: change points are drawn over this many scheduling choices.</summary>
    public long PctHorizon { get; init; } = 100_000;

    /// <summary>Litmus memory: a store leaves the CPU's store buffer this long after it was made, or at the CPU's next full barrier.</summary>
    public long StoreBufferNs { get; init; } = 2_000;

    /// <summary>
    /// The weak-memory mode (config <c>memory.weak</c>): the random workload's threads load and store
    /// shared and per-process variables through the store buffers litmus scenarios use, rq->curr and
    /// current->mm are buffered too (<c>litmus.currStoreBufferNs</c>), and P-OBS checks what the loads saw.
    /// </summary>
    public bool WeakMemory { get; init; }

    /// <summary>The store-buffer length the weak-memory mode uses unless <c>litmus.storeBufferNs</c> is set: a window a soak's accesses can land in.</summary>
    public const long WeakStoreBufferNs = 20_000;

    /// <summary>True when the run's user loads and stores go through store buffers: the weak-memory mode, or a scenario with store and load steps.</summary>
    public bool ObservesMemory => WeakMemory || (Kernel.Tasks?.Any(t => t.Steps.Any(s => s.Kind is Twin.Kernel.Tasks.StepKind.Store or Twin.Kernel.Tasks.StepKind.Load)) ?? false);

    /// <summary>What the checkers are told of the machine: the kernel's facts and, when the run observes memory, its store buffers.</summary>
    public Twin.Checking.MachineFacts Facts =>
        Twin.Checking.MachineFacts.Of(Kernel, ObservesMemory ? new Twin.Checking.MemoryFacts(Kernel.Arch.IsX86, StoreBufferNs, Seed) : null);

    /// <summary>
    /// Swarm testing (config <c>swarm.enabled</c>, on by default in <c>twin soak</c>): each seed draws
    /// its own config, but for the keys the user pinned (<see cref="Config.Swarm"/>); null: every seed
    /// runs this config. A run's own config never swarms: it is the draw.
    /// </summary>
    public SwarmSpec? Swarm { get; init; }

    /// <summary>The config seed <paramref name="seed"/> runs: this one with the seed, or, when it swarms, the seed's draw.</summary>
    public TwinConfig ForSeed(ulong seed) => Config.Swarm.ForSeed(this, seed);

    /// <summary>The scenario file's JSON (canonical), when the run comes from one; stored with the run.</summary>
    public string? ScenarioJson { get; init; }

    /// <summary>The scenario's litmus part (registers, forbidden outcome), when it has loads; null otherwise.</summary>
    public Twin.Simulation.Litmus.LitmusSpec? Litmus { get; init; }

    /// <summary>What the scenario's steps expect membarrier to return, by (task, step index).</summary>
    public IReadOnlyList<Expectation> Expectations { get; init; } = [];
}

/// <summary>A scenario step's expected membarrier result: a return value, or an errno.</summary>
public sealed record Expectation(string Task, int StepIndex, long? Ret, int? Errno);

/// <summary>A config file or override is missing, malformed or out of range. The message names the key and where it came from.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);
