namespace Twin.Checking;

/// <summary>What checkers need to know of the machine that events do not say (from the run's config, or a trace header).</summary>
public sealed record MachineFacts(int Cpus, bool NohzFull)
{
    public static MachineFacts Unknown { get; } = new(0, false);
}
