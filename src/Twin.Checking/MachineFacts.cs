namespace Twin.Checking;

/// <summary>What checkers need to know of the machine that events do not say (from the run's config, or a trace header).</summary>
/// <param name="Lam">x86 LAM is modelled (<c>kernel.lam</c>): the checkers may expect its state in the events.</param>
public sealed record MachineFacts(int Cpus, bool NohzFull, bool Lam = false)
{
    public static MachineFacts Unknown { get; } = new(0, false);
}
