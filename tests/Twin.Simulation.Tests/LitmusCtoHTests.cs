using Twin.Simulation.Litmus;

namespace Twin.Simulation.Tests;

/// <summary>Litmus scenarios C to H (those of <see cref="LitmusTests"/> split off, so that xunit runs the two classes side by side).</summary>
public sealed class LitmusCtoHTests
{
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
        LitmusResult r = LitmusTests.Run(file, ("arch", arch));
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
        LitmusResult r = LitmusTests.Run(file, ("arch", arch), ("litmus.omitBarrier", barrier));
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
        LitmusResult r = LitmusTests.Run(file, ("arch", arch), ("litmus.omitBarrier", barrier));
        Assert.Equal(0, r.ForbiddenCount);
    }

    [Fact]
    public void Without_the_buffered_rq_curr_store_leaving_out_e_changes_no_outcome_but_the_checkers_still_see_it()
    {
        // The sequentially consistent kernel model: membarrier always reads the current rq->curr.
        LitmusResult r = LitmusTests.Run("C.json", ("arch", "powerpc"), ("litmus.omitBarrier", "MmdropLazyTlb"), ("litmus.currStoreBufferNs", "0"));
        Assert.Equal(0, r.ForbiddenCount);
        Assert.True(r.ViolationsByProperty.GetValueOrDefault("P-PE") > 0);
    }

    // F-H: the removals that random soaks survive, each where the kernel's comments place its pairing.

    [Theory]
    [InlineData("")]
    [InlineData("switch_mm.cr3.mb")]
    [InlineData("switch_mm.cpumask_set_cpu")]
    [InlineData("switch_mm.cr3.serialize")]
    [InlineData("switch_mm.cr3.mb,switch_mm.cr3.serialize")]
    public void Scenario_F_an_x86_switch_between_processes_keeps_the_outcome_away_while_any_of_switch_mms_three_orderings_stays(string omit)
    {
        LitmusResult r = omit.Length == 0 ? LitmusTests.Run("F.json", 100) : LitmusTests.Run("F.json", 100, ("omit.0", omit));
        Assert.Equal(0, r.ForbiddenCount);
        Assert.True(r.Outcomes.Count >= 2 || omit.Length > 0, LitmusTests.Outcomes(r));
        // The CR3 write's barrier is the one __schedule() and switch_mm_irqs_off() name for membarrier: without it the pairing checker fires in every run.
        if (omit.Contains("switch_mm.cr3.mb", StringComparison.Ordinal)) Assert.Equal(100, r.ViolationsByProperty.GetValueOrDefault("P-PE"));
        if (omit.Length == 0) Assert.Empty(r.ViolationsByProperty);
    }

    [Fact]
    public void Scenario_F_shows_the_forbidden_outcome_once_all_three_are_left_out()
    {
        LitmusResult r = LitmusTests.Run("F.json", 100, ("omit.0", "switch_mm.cpumask_set_cpu,switch_mm.cr3.mb,switch_mm.cr3.serialize"));
        Assert.True(r.ForbiddenCount > 0, LitmusTests.Outcomes(r));
        Assert.Equal(r.ForbiddenCount, r.ViolationsByProperty.GetValueOrDefault("P-OBS"));
    }

    [Theory]
    [InlineData("x86_64")]
    [InlineData("x86_64-pti")]
    [InlineData("arm64")]
    [InlineData("riscv")]
    public void Scenario_G_never_shows_the_forbidden_outcome_with_the_barriers_in_place(string arch)
    {
        LitmusResult r = LitmusTests.Run("G.json", 100, ("arch", arch));
        Assert.Equal(0, r.ForbiddenCount);
        Assert.Empty(r.ViolationsByProperty);
    }

    [Theory]
    [InlineData("arm64")]
    [InlineData("riscv")]
    public void Scenario_G_shows_it_without_the_single_user_registrations_smp_mb_on_weak_architectures(string arch)
    {
        LitmusResult r = LitmusTests.Run("G.json", 100, ("arch", arch), ("omit.0", "sync_runqueues_membarrier_state.smp_mb"));
        Assert.True(r.ForbiddenCount > 0, LitmusTests.Outcomes(r));
        Assert.Equal(r.ForbiddenCount, r.ViolationsByProperty.GetValueOrDefault("P-OBS"));
        Assert.Equal(100, r.ViolationsByProperty.GetValueOrDefault("P-REG"));
    }

    [Fact]
    public void Scenario_G_on_x86_is_kept_by_the_lock_or_of_the_ready_bits_until_that_is_left_out_too()
    {
        Assert.Equal(0, LitmusTests.Run("G.json", 100, ("arch", "x86_64"), ("omit.0", "sync_runqueues_membarrier_state.smp_mb")).ForbiddenCount);
        LitmusResult both = LitmusTests.Run("G.json", 100, ("arch", "x86_64"), ("omit.0", "sync_runqueues_membarrier_state.smp_mb,membarrier_register.atomic_or"));
        Assert.True(both.ForbiddenCount > 0, LitmusTests.Outcomes(both));
    }

    [Fact]
    public void Scenario_H_needs_ipi_sync_rq_states_smp_mb_on_arm64_and_x86_has_the_handlers_iret_besides()
    {
        Assert.Equal(0, LitmusTests.Run("H.json", 100).ForbiddenCount);
        LitmusResult arm = LitmusTests.Run("H.json", 100, ("omit.0", "ipi_sync_rq_state.smp_mb"));
        Assert.True(arm.ForbiddenCount > 0, LitmusTests.Outcomes(arm));
        Assert.Equal(arm.ForbiddenCount, arm.ViolationsByProperty.GetValueOrDefault("P-OBS"));
        Assert.Equal(0, LitmusTests.Run("H.json", 100, ("arch", "x86_64"), ("omit.0", "ipi_sync_rq_state.smp_mb")).ForbiddenCount);
        Assert.True(LitmusTests.Run("H.json", 100, ("arch", "x86_64"), ("omit.0", "ipi_sync_rq_state.smp_mb,exit_to_user.iret")).ForbiddenCount > 0);
    }
}
