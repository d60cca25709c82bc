using Twin.Kernel;

namespace Twin.Checking;

/// <summary>What checkers need to know of the machine that events do not say (from the run's config, or a trace header).</summary>
/// <param name="Lam">x86 LAM is modelled (<c>kernel.lam</c>): the checkers may expect its state in the events.</param>
/// <param name="TextPokeLivenessNs">A text_poke batch must finish within this time (T-LIVE); 0: not checked.</param>
public sealed record MachineFacts(int Cpus, bool NohzFull, bool Lam = false, long TextPokeLivenessNs = 0)
{
    public static MachineFacts Unknown { get; } = new(0, false);

    public static MachineFacts Of(KernelConfig k) => new(k.Cpus, k.NohzFull, k.Lam, k.TextPoke?.LivenessNs ?? 0);
}
