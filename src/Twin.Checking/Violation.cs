namespace Twin.Checking;

/// <summary>A property failed. <paramref name="EventIndex"/> is the position in the run of the event that proves it.</summary>
public sealed record Violation(string Property, long TimeNs, int Cpu, int Mm, long EventIndex, string Message);
