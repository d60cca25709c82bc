using Twin.Kernel;

namespace Twin.Checking;

/// <summary>What checkers need to know of the machine that events do not say (from the run's config, or a trace header).</summary>
/// <param name="Lam">x86 LAM is modelled (<c>kernel.lam</c>): the checkers may expect its state in the events.</param>
/// <param name="TextPokeLivenessNs">A text_poke batch must finish within this time (T-LIVE); 0: not checked.</param>
/// <param name="X86">An x86 profile: its TLB machinery's pairings (TLB-3) apply.</param>
/// <param name="Memory">The run's user loads and stores go through store buffers (litmus scenarios, <c>memory.weak</c>): P-OBS applies; null: none.</param>
/// <param name="Arch">The architecture profile's name (coverage counts context_switch's cases per profile); "" when unknown.</param>
public sealed record MachineFacts(int Cpus, bool NohzFull, bool Lam = false, long TextPokeLivenessNs = 0, bool X86 = false, MemoryFacts? Memory = null,
    string Arch = "")
{
    public static MachineFacts Unknown { get; } = new(0, false);

    public static MachineFacts Of(KernelConfig k, MemoryFacts? memory = null) => new(k.Cpus, k.NohzFull, k.Lam, k.TextPoke?.LivenessNs ?? 0, k.Arch.IsX86, memory, k.Arch.Name);
}

/// <summary>The store-buffer memory a run's user accesses go through (see <see cref="Memory.StoreBufferMemory"/>).</summary>
/// <param name="Tso">x86's total store order: stores leave in order, loads are never early, serializing instructions drain.</param>
public sealed record MemoryFacts(bool Tso, long StoreBufferNs, ulong Seed);
