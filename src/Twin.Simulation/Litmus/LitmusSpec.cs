using System.Globalization;
using Twin.Checking;

namespace Twin.Simulation.Litmus;

/// <summary>
/// A scenario's litmus part: its registers (load steps and <c>sampled_into</c>) and the outcome it
/// forbids. A run of such a scenario ends with its register state, and with a FORBID violation
/// when that state is the forbidden one, so litmus tests work in run, soak, shrink and mutate.
/// </summary>
public sealed record LitmusSpec(string Name, IReadOnlyList<string> Registers, IReadOnlyList<(int Task, int Call, int Reg)> SampleRegisters,
    IReadOnlyList<(int Reg, long Value)> Forbidden)
{
    /// <summary>The property of the violation a run whose registers end in the forbidden state reports.</summary>
    public const string Property = "FORBID";

    /// <summary>"r1=0; r2=0": the forbidden state as herd7 writes a condition.</summary>
    public string ForbiddenState => string.Join("; ", Forbidden.Select(f => $"{Registers[f.Reg]}={f.Value.ToString(CultureInfo.InvariantCulture)}"));

    /// <summary>The final state ("r1=0; r2=1", "?" for a register never filled) and whether it is the forbidden one.</summary>
    public (string State, bool Forbidden) Outcome(IReadOnlyDictionary<(int Task, int Reg), long> loaded, IReadOnlyDictionary<int, long> sampled)
    {
        var values = new long?[Registers.Count];
        foreach (((int _, int reg), long value) in loaded) values[reg] = value;
        foreach ((int reg, long value) in sampled) values[reg] = value;
        string state = string.Join("; ", Registers.Select((name, i) => $"{name}={(values[i] is long v ? v.ToString(CultureInfo.InvariantCulture) : "?")}"));
        return (state, Forbidden.Count > 0 && Forbidden.All(f => values[f.Reg] == f.Value));
    }

    /// <summary>The violation a run whose registers end in the forbidden state reports.</summary>
    public Violation Violation(string state, long nowNs, long events) =>
        new(Property, nowNs, -1, 0, events, $"litmus '{Name}': the forbidden outcome came up ({state}; forbidden: {ForbiddenState})")
        {
            Guarantee = "the scenario's forbid: an outcome the kernel's barriers rule out (kernel/sched/membarrier.c's ordering scenarios)",
        };
}
