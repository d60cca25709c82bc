using Twin.Actors;
using Twin.Kernel.Cpu;

namespace Twin.Kernel;

/// <summary>
/// How long one step of kernel code takes: the twin's timing strategy. Uniform (the default):
/// a step stalls with <see cref="TimingConfig.StallProbability"/>, wherever it is. Window-biased
/// (<see cref="TimingConfig.WindowStallProbability"/> above 0): a step taken while its CPU is inside
/// a race window that a checker names stalls with that probability instead. This is the timing
/// analogue of PCT's change points (Burckhardt et al., ASPLOS 2010): a bug of depth d needs d
/// orderings, and here an ordering is won by one CPU being slow exactly where another CPU's
/// conflicting step must overtake it; stalling everywhere spends the stall budget on steps where
/// lateness decides nothing and slows the run, stalling in the windows spends it where it does.
/// The same number of draws is made either way, so the strategy only moves where stalls fall.
/// </summary>
public static class StepTiming
{
    /// <summary>The delay before <paramref name="cpu"/>'s next kernel step, in virtual ns.</summary>
    public static long StepNs(KernelModel kernel, CpuState cpu, DeterministicRandom random)
    {
        TimingConfig t = kernel.Config.Timing;
        double p = t.WindowStallProbability > 0 && InWindow(kernel, cpu) ? t.WindowStallProbability : t.StallProbability;
        if (p > 0 && random.Chance(p)) return random.NextLong(t.StepNsMax, Math.Max(t.StepNsMax, t.StallNsMax));
        return random.NextLong(t.StepNsMin, t.StepNsMax);
    }

    /// <summary>
    /// Whether <paramref name="cpu"/> is inside a window a checker watches: switch_mm_irqs_off()
    /// between setting mm_cpumask and loading CR3 (loaded_mm == LOADED_MM_SWITCHING; P-TLB, the
    /// LAM checks), a CPU other than the patching one while a text_poke_bp() batch is in flight (it
    /// may be in the INT3 handler, between reading bp_desc or the vector and taking its ref;
    /// P-TEXT), and an isolated CPU whose deferred sync is pending (P-ISOL). Only the side that
    /// must be late is slowed: the CPU that bumps tlb_gen, patches or syncs keeps its pace.
    /// </summary>
    public static bool InWindow(KernelModel kernel, CpuState cpu) =>
        cpu.Switching || cpu.CtWorkPending || kernel.Text is { } text && text.State.Batch != 0 && text.State.BatchCpu != cpu.Cpu;
}
