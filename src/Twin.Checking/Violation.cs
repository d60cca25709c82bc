namespace Twin.Checking;

/// <summary>
/// A property failed. <paramref name="EventIndex"/> is the event that shows it;
/// <see cref="WindowStart"/> the first event of the window that proves it (e.g. the code write, or
/// the start of an occupancy), so a report can show exactly those events.
/// </summary>
public sealed record Violation(string Property, long TimeNs, int Cpu, int Mm, long EventIndex, string Message)
{
    /// <summary>The task involved, or 0.</summary>
    public int Task { get; init; }

    public long WindowStart { get; init; }

    /// <summary>The kernel's own wording of the guarantee that failed.</summary>
    public string Guarantee { get; init; } = "";
}
