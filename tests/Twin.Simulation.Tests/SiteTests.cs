using Twin.Kernel.Arch;
using Twin.Kernel.Events;
using Twin.Kernel.Sites;
using Twin.Simulation.Config;
using Twin.Simulation.Mutation;
using Twin.Simulation.Running;

namespace Twin.Simulation.Tests;

/// <summary>
/// The barrier and core-serializing sites: a catalogue entry for each, each one reached by the
/// model where the catalogue says it runs, and left out exactly when the config names it.
/// </summary>
public sealed class SiteTests
{
    private static IEnumerable<(string, string, string)> Set(params (string Key, string Value)[] kv) => kv.Select(p => (p.Key, p.Value, "test"));

    [Fact]
    public void every_site_has_one_catalogue_entry_with_a_unique_name_and_a_profile()
    {
        OrderingSite[] sites = [.. Enum.GetValues<OrderingSite>().Where(s => s != OrderingSite.None)];
        Assert.Equal(sites, SiteCatalog.All.Select(s => s.Site));
        Assert.Equal(SiteCatalog.All.Count, SiteCatalog.All.Select(s => s.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        foreach (SiteInfo s in SiteCatalog.All)
        {
            Assert.True(ArchProfile.All.Any(s.On), s.Name);
            Assert.Same(s, SiteCatalog.Find(s.Name));
            Assert.NotEmpty(s.Kernel);
        }
    }

    /// <summary>One run per site, on the first profile that has it, with the features mutate turns on: the site is reached, so leaving it out tests something.</summary>
    [Fact]
    public void every_site_is_reached_by_the_workload_twin_mutate_runs_it_under()
    {
        var budget = MutationBudget.Default with { Events = 150_000 };
        var unreached = new List<string>();
        foreach (SiteInfo s in SiteCatalog.All)
        {
            var m = new Mutant(SiteSet.Of(s.Site), ArchProfile.All.First(s.On));
            long reached = 0;
            for (ulong seed = 1; seed <= 3 && reached == 0; seed++)
            {
                reached = SimulationRunner.Run(MutantConfigs.Random(m, budget) with { Seed = seed }, journal: null, "reach").OmittedReached;
            }
            if (reached == 0) unreached.Add(m.Name);
        }
        Assert.Empty(unreached);
    }

    [Fact]
    public void omit_takes_site_names_and_barrier_reasons_and_names_what_it_does_not_know()
    {
        TwinConfig c = ConfigLoader.Load(null, Set(("omit.0", "membarrier.a, switch_mm.cr3.serialize"), ("omit.1", "ExitMm"), ("omit.2", "none")));
        Assert.Equal(SiteSet.Of(OrderingSite.MembarrierEntry, OrderingSite.SwitchMmCr3Serialize, OrderingSite.ExitMm), c.Kernel.Omit);
        // A reason stands for every barrier site of it, as litmus.omitBarrier always did.
        TwinConfig old = ConfigLoader.Load(null, Set(("litmus.omitBarrier", "Cr3Write")));
        Assert.Equal(SiteSet.Of(OrderingSite.SwitchMmCr3Barrier, OrderingSite.LeaveMmCr3Barrier), old.Kernel.Omit);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [("omit.0", "membarrier.b", "--omit membarrier.b")]));
        Assert.Contains("--omit membarrier.b: 'membarrier.b' is neither a site", e.Message);
    }

    [Fact]
    public void omitted_sites_and_the_weak_memory_mode_survive_the_stored_config()
    {
        TwinConfig c = ConfigLoader.Load(null, Set(("omit.0", "ipi_mb.smp_mb,cpu_boot"), ("memory.weak", "true"), ("arch", "arm64")));
        string json = ConfigLoader.ToJson(c);
        TwinConfig back = ConfigLoader.FromRunJson(json, "stored");
        Assert.Equal(json, ConfigLoader.ToJson(back));
        Assert.Equal(c.Kernel.Omit, back.Kernel.Omit);
        Assert.True(back.WeakMemory);
        // The weak-memory mode's defaults, written out so the run reads back the same.
        Assert.Equal(TwinConfig.WeakStoreBufferNs, back.StoreBufferNs);
        Assert.Equal(TwinConfig.WeakStoreBufferNs, back.Kernel.CurrStoreBufferNs);
        Assert.Equal(Twin.Kernel.StepWeights.WeakMemoryAccess, back.Kernel.Workload.Weights.Access);
    }

    [Fact]
    public void an_omitted_site_runs_no_event_and_is_counted_while_the_other_sites_of_its_reason_stay()
    {
        TwinConfig all = ConfigLoader.Load(null, Set(("run.events", "100000"), ("seed", "3")));
        TwinConfig without = all with { Kernel = all.Kernel with { Omit = SiteSet.Of(OrderingSite.IpiMb) } };
        (SimulationResult r, List<object> events) = Run(without);
        (SimulationResult full, List<object> fullEvents) = Run(all);
        Assert.True(r.OmittedReached > 0);
        Assert.Equal(0, full.OmittedReached);
        // ipi_mb's handler ran without its barrier; the other handlers (ipi_sync_core, ipi_rseq, ipi_sync_rq_state) kept theirs.
        Assert.Contains(events, e => e is IpiHandled { Kind: IpiKind.Mb });
        Assert.Contains(events, e => e is FullBarrier { Reason: BarrierReason.IpiHandler });
        Assert.True(HandlerBarriers(fullEvents, IpiKind.Mb) > 0);
        Assert.Equal(0, HandlerBarriers(events, IpiKind.Mb));
        Assert.True(HandlerBarriers(events, IpiKind.Rseq) > 0);
    }

    private static (SimulationResult, List<object>) Run(TwinConfig c)
    {
        var tap = new EventRecorder();
        SimulationResult r = SimulationRunner.Run(c, journal: null, "omit", taps: [tap]);
        return (r, [.. tap.Events.Select(e => e.Event)]);
    }

    /// <summary>Handlers of <paramref name="kind"/> whose CPU journaled an IPI handler's barrier just before them (a handler's events are consecutive).</summary>
    private static int HandlerBarriers(List<object> events, IpiKind kind)
    {
        int n = 0;
        for (int i = 1; i < events.Count; i++)
        {
            if (events[i] is IpiHandled h && h.Kind == kind && events[i - 1] is FullBarrier { Reason: BarrierReason.IpiHandler } fb && fb.Cpu == h.Cpu) n++;
        }
        return n;
    }

    [Fact]
    public void a_skip_barrier_fault_can_name_one_site_of_a_reason_and_refuses_a_site_of_the_other_kind()
    {
        TwinConfig c = ConfigLoader.Load(null, [("faults.0", "skip-barrier:site=ipi_rseq.smp_mb,p=0.5", "--fault")]);
        Assert.Equal(OrderingSite.IpiRseqBarrier, c.Kernel.Faults[0].Site);
        Assert.Equal((int)BarrierReason.IpiHandler, c.Kernel.Faults[0].Reason);
        var wrongKind = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [("faults.0", "skip-barrier:site=exit_to_user.iret", "--fault")]));
        Assert.Contains("site = 'exit_to_user.iret' is not a barrier site", wrongKind.Message);
        var both = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [("faults.0", "skip-serialize:site=cpu_boot,reason=CpuBoot", "--fault")]));
        Assert.Contains("give reason or site, not both", both.Message);
    }
}
