using Twin.Simulation.Litmus;

namespace Twin.Simulation.Tests;

/// <summary>Litmus scenarios under config/scenarios/litmus: forbidden outcomes never with the kernel's barriers, and seen without them.</summary>
public sealed class LitmusTests
{
    private static LitmusResult Run(string file, params (string Key, string Value)[] set) =>
        LitmusRunner.Run(RepoPaths.Of("config/scenarios/litmus/" + file), [.. set.Select(s => (s.Key, s.Value, "test"))], 1, 200);

    [Theory]
    [InlineData("x86_64")]
    [InlineData("arm64")]
    [InlineData("powerpc")]
    public void Scenario_A_never_shows_the_forbidden_outcome_with_the_barriers_in_place(string arch)
    {
        LitmusResult r = Run("A.json", ("arch", arch));
        Assert.Equal(200, r.Outcomes.Sum(o => o.Count));
        Assert.Equal(0, r.ForbiddenCount);
        Assert.True(r.Outcomes.Count >= 2, $"only {string.Join(", ", r.Outcomes.Select(o => o.State))}: the seeds do not move the accesses around the call");
        Assert.Empty(r.ViolationsByProperty);
    }

    [Fact]
    public void Scenario_A_shows_it_once_membarriers_entry_barrier_is_left_out_and_P_PE_says_why()
    {
        LitmusResult r = Run("A.json", ("litmus.omitBarrier", "MembarrierEntry"));
        Assert.True(r.ForbiddenCount > 0, string.Join(", ", r.Outcomes.Select(o => $"{o.State} x{o.Count}")));
        Assert.Equal("r1=0; r2=0", r.ForbiddenState);
        Assert.True(r.ViolationsByProperty.GetValueOrDefault("P-PE") >= r.ForbiddenCount);
    }

    [Theory]
    [InlineData("arm64")]
    [InlineData("powerpc")]
    [InlineData("riscv")]
    public void Scenario_B_holds_with_the_barriers_and_breaks_without_the_exit_barrier_on_weak_architectures(string arch)
    {
        LitmusResult ok = Run("B.json", ("arch", arch));
        Assert.Equal(0, ok.ForbiddenCount);
        Assert.Contains(ok.Outcomes, o => o.State == "r2=1; r1=1");
        Assert.Contains(ok.Outcomes, o => o.State.StartsWith("r2=0", StringComparison.Ordinal));

        LitmusResult broken = Run("B.json", ("arch", arch), ("litmus.omitBarrier", "MembarrierExit"));
        Assert.True(broken.ForbiddenCount > 0, string.Join(", ", broken.Outcomes.Select(o => $"{o.State} x{o.Count}")));
        Assert.Equal(200, broken.ViolationsByProperty.GetValueOrDefault("P-PE"));
    }

    [Fact]
    public void Scenario_B_cannot_break_on_x86_even_without_the_exit_barrier_because_TSO_keeps_loads_in_order()
    {
        LitmusResult r = Run("B.json", ("arch", "x86_64"), ("litmus.omitBarrier", "MembarrierExit"));
        Assert.Equal(0, r.ForbiddenCount);
        Assert.Equal(200, r.ViolationsByProperty.GetValueOrDefault("P-PE"));
    }

    // Scenarios C–E: the forbidden outcome names membarrier's read of rq->curr->mm (sampled_into),
    // whose stores go through the store buffer (litmus.currStoreBufferNs).

    [Theory]
    [InlineData("C.json", "x86_64")]
    [InlineData("C.json", "arm64")]
    [InlineData("C.json", "powerpc")]
    [InlineData("C.json", "riscv")]
    [InlineData("D.json", "x86_64")]
    [InlineData("D.json", "arm64")]
    [InlineData("D.json", "powerpc")]
    [InlineData("E.json", "x86_64")]
    [InlineData("E.json", "arm64")]
    [InlineData("E.json", "riscv")]
    public void Scenarios_C_to_E_never_show_the_forbidden_outcome_with_the_barriers_in_place(string file, string arch)
    {
        LitmusResult r = Run(file, ("arch", arch));
        Assert.Equal(200, r.Outcomes.Sum(o => o.Count));
        Assert.Equal(0, r.ForbiddenCount);
        Assert.True(r.Outcomes.Count >= 2, $"only {string.Join(", ", r.Outcomes.Select(o => o.State))}: the seeds do not move the accesses around the call");
        Assert.Empty(r.ViolationsByProperty);
    }

    [Theory]
    [InlineData("C.json", "MmdropLazyTlb", "powerpc")]
    [InlineData("C.json", "MmdropLazyTlb", "riscv")]
    [InlineData("D.json", "ExitMm", "arm64")]
    [InlineData("D.json", "ExitMm", "riscv")]
    [InlineData("E.json", "MmdropLazyTlb", "arm64")]
    public void Scenarios_C_to_E_show_it_once_their_scheduler_side_barrier_is_left_out_and_P_PE_says_why(string file, string barrier, string arch)
    {
        LitmusResult r = Run(file, ("arch", arch), ("litmus.omitBarrier", barrier));
        Assert.True(r.ForbiddenCount > 0, string.Join(", ", r.Outcomes.Select(o => $"{o.State} x{o.Count}")));
        Assert.True(r.ViolationsByProperty.GetValueOrDefault("P-PE") >= r.ForbiddenCount);
    }

    [Theory]
    [InlineData("C.json", "MmdropLazyTlb", "x86_64")] // switch_mm's smp_mb() before reading tlb_gen when unlazying
    [InlineData("C.json", "MmdropLazyTlb", "arm64")] // __switch_to's dsb
    [InlineData("E.json", "MmdropLazyTlb", "x86_64")] // the CR3 write of switch_mm from init_mm
    [InlineData("E.json", "MmdropLazyTlb", "powerpc")] // switch_mm's own barrier
    public void Where_the_architecture_has_a_second_barrier_on_the_path_leaving_one_out_changes_no_outcome(string file, string barrier, string arch)
    {
        LitmusResult r = Run(file, ("arch", arch), ("litmus.omitBarrier", barrier));
        Assert.Equal(0, r.ForbiddenCount);
    }

    [Fact]
    public void Without_the_buffered_rq_curr_store_leaving_out_e_changes_no_outcome_but_the_checkers_still_see_it()
    {
        // The sequentially consistent kernel model: membarrier always reads the current rq->curr.
        LitmusResult r = Run("C.json", ("arch", "powerpc"), ("litmus.omitBarrier", "MmdropLazyTlb"), ("litmus.currStoreBufferNs", "0"));
        Assert.Equal(0, r.ForbiddenCount);
        Assert.True(r.ViolationsByProperty.GetValueOrDefault("P-PE") > 0);
    }
}
