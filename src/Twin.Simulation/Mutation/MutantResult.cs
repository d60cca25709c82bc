using Twin.Kernel.Sites;

namespace Twin.Simulation.Mutation;

/// <summary>How a removal was caught: by what the threads observed (a litmus scenario's forbidden outcome, P-OBS), or by a checker of the kernel's pairings and protocols only.</summary>
public enum Evidence
{
    None,
    Outcome,
    Contract,
}

/// <summary>
/// A removal that was caught: where (the random workload, or a litmus scenario), at which seed,
/// after how long, by which properties, with the first violation's message and, for a campaign,
/// the journaled run.
/// </summary>
public sealed record Kill(string Part, ulong Seed, double Seconds, IReadOnlyList<string> Properties, string Message, Evidence Evidence, string? Journal);

/// <summary>One mutant's verdict.</summary>
/// <param name="Kill">How it was caught; null: it survived every part.</param>
/// <param name="Outcome">With <c>--outcome</c>, an observed outcome looked for after a checker caught it; null when not looked for or not seen.</param>
/// <param name="Reached">Times the model reached the left-out sites in the runs this process made (0: the removal was never exercised).</param>
/// <param name="Claim">For a survivor: the model's explanation, if it has one.</param>
/// <param name="Check">For a survivor with a claim naming covering sites: the same removal with them, which should be caught.</param>
public sealed record MutantResult(Mutant Mutant, Kill? Kill, Kill? Outcome, long Reached, double Seconds, SiteClaim? Claim, MutantResult? Check)
{
    public bool Killed => Kill is not null;

    /// <summary>
    /// A survivor is explained when the model states why and, if the claim names covering sites,
    /// removing them with it is caught. A removal never reached is not explained by anything.
    /// </summary>
    public bool Explained => Killed || (Reached > 0 && Claim is not null && (Claim.CoveredBy.Count == 0 || Check?.Killed == true));
}
