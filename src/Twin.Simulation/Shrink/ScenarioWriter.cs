using System.Text;
using System.Text.Json;
using Twin.Kernel;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using Twin.Simulation.Scenarios;

namespace Twin.Simulation.Shrink;

/// <summary>
/// Writes a shrunk draft as a scenario file (docs/scenarios.md) that <c>twin run --scenario</c>
/// reads back. Every timing key is written out, so the file fails the same way whatever
/// config/default.json says later.
/// </summary>
public static class ScenarioWriter
{
    public static string Write(ShrinkResult shrunk, string origin)
    {
        Config.TwinConfig c = shrunk.Config;
        TimingConfig t = c.Kernel.Timing;
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("name", $"{shrunk.Violation.Property}: shrunk from {origin}");
            w.WriteString("description", $"twin shrink reduced {shrunk.OriginalTasks} tasks and {shrunk.OriginalSteps} steps to {shrunk.Draft.Tasks.Count} and {shrunk.Draft.StepCount} in {shrunk.Runs} runs. Violation: {shrunk.Violation.Message}");
            w.WriteString("arch", c.Kernel.Arch.Name);
            w.WriteNumber("cpus", shrunk.Draft.Cpus);
            w.WriteNumber("seed", c.Seed);
            if (c.Kernel.NohzFull) w.WriteBoolean("nohzFull", true);
            w.WriteNumber("events", c.Events);
            w.WriteStartArray("bugs");
            foreach (BugSet b in Bugs.Each(c.Kernel.Bugs)) w.WriteStringValue(b.ToString());
            w.WriteEndArray();
            if (c.Kernel.Faults.Count > 0)
            {
                w.WriteStartArray("faults");
                foreach (Twin.Kernel.Faults.FaultRule f in c.Kernel.Faults) w.WriteStringValue(f.Spec);
                w.WriteEndArray();
            }
            if (!c.Kernel.Omit.IsEmpty)
            {
                w.WriteStartArray("omit");
                foreach (Twin.Kernel.Sites.OrderingSite site in c.Kernel.Omit.Each()) w.WriteStringValue(Twin.Kernel.Sites.SiteCatalog.Get(site).Name);
                w.WriteEndArray();
            }
            w.WriteStartArray("expect");
            w.WriteStringValue(shrunk.Violation.Property);
            w.WriteEndArray();
            w.WriteStartObject("set");
            Config.ConfigLoader.WriteTiming(w, t, "kernel.");
            if (c.Kernel.Lam) w.WriteBoolean("kernel.lam", true);
            if (c.ObservesMemory || c.Kernel.CurrStoreBufferNs > 0)
            {
                // The store buffers the failure was seen through (the weak-memory mode's, or a litmus scenario's).
                w.WriteNumber("litmus.storeBufferNs", c.StoreBufferNs);
                w.WriteNumber("litmus.currStoreBufferNs", c.Kernel.CurrStoreBufferNs);
            }
            string isolated = c.Kernel.Isolation is { } iso ? iso.Cpus.Below(shrunk.Draft.Cpus).ToCpuList() : "";
            if (isolated.Length > 0)
            {
                w.WriteString("isolation.cpus", isolated);
                w.WriteBoolean("isolation.defer", c.Kernel.Isolation!.Defer);
            }
            if (c.Kernel.TextPoke is { } tp)
            {
                w.WriteBoolean("textPoke.enabled", true);
                w.WriteNumber("textPoke.sites", tp.Sites);
                w.WriteNumber("textPoke.nmiEveryNs", tp.NmiEveryNs);
                w.WriteNumber("textPoke.livenessNs", tp.LivenessNs);
            }
            w.WriteEndObject();
            w.WriteStartArray("tasks");
            foreach (DraftTask task in shrunk.Draft.Tasks) WriteTask(w, task);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteTask(Utf8JsonWriter w, DraftTask task)
    {
        w.WriteStartObject();
        w.WriteString("name", task.Name);
        if (task.Kthread) w.WriteBoolean("kthread", true);
        else w.WriteString("process", task.Process);
        if (task.Affinity >= 0) w.WriteNumber("cpu", task.Affinity);
        w.WriteStartArray("steps");
        for (int i = 0; i < task.Steps.Count;)
        {
            int run = 1;
            while (i + run < task.Steps.Count && run < ScenarioParser.MaxRepeat && SameRepeatable(task.Steps[i], task.Steps[i + run])) run++;
            WriteStep(w, task.Name, task.Steps[i], run);
            i += run;
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Can <paramref name="b"/> be written as another repeat of <paramref name="a"/> (the parser's rules for <c>"repeat"</c>)?</summary>
    private static bool SameRepeatable(DraftStep a, DraftStep b) =>
        ScenarioParser.CanRepeat(a.Step.Kind) && a with { Step = a.Step with { Index = 0 } } == b with { Step = b.Step with { Index = 0 } };

    private static void WriteStep(Utf8JsonWriter w, string task, DraftStep d, int repeat)
    {
        Step s = d.Step;
        w.WriteStartObject();
        switch (s.Kind)
        {
            case StepKind.Spin: w.WriteNumber("spin_ns", s.Ns); break;
            case StepKind.Rseq: w.WriteNumber("rseq_ns", s.Ns); break;
            case StepKind.Sleep: w.WriteNumber("sleep_ns", s.Ns); break;
            case StepKind.Yield: w.WriteBoolean("yield", true); break;
            case StepKind.WriteCode: w.WriteBoolean("write_code", true); break;
            case StepKind.Mprotect: w.WriteBoolean("mprotect", true); break;
            case StepKind.Munmap: w.WriteBoolean("munmap", true); break;
            case StepKind.Exec: w.WriteBoolean("exec", true); break;
            case StepKind.Exit: w.WriteBoolean("exit", true); break;
            case StepKind.TaggedSyscall: w.WriteBoolean("tagged_syscall", true); break;
            case StepKind.UnuseMm: w.WriteBoolean("unuse_mm", true); break;
            case StepKind.Fork: w.WriteString("fork", d.ForkTask); break;
            case StepKind.UseMm: w.WriteString("use_mm", d.Process); break;
            case StepKind.Store:
                w.WriteString("store", $"v{s.Target}");
                w.WriteNumber("value", s.Cmd);
                break;
            case StepKind.Load:
                // A register belongs to one task (docs/scenarios.md); the random workload loads into
                // register 0 in every task, so the task's name keeps them apart.
                w.WriteString("load", $"v{s.Target}");
                w.WriteString("into", $"{task}.r{s.Cmd}");
                break;
            case StepKind.TextExec:
                if (s.Target < 0) w.WriteString("text_exec", "kprobe");
                else w.WriteNumber("text_exec", s.Target);
                break;
            case StepKind.TextPoke:
                w.WriteStartArray("text_poke");
                for (int site = 0; site < 31; site++)
                {
                    if ((s.Target & (1 << site)) != 0) w.WriteNumberValue(site);
                }
                w.WriteEndArray();
                break;
            case StepKind.ArchPrctl:
                w.WriteString("arch_prctl", ArchPrctlOption.Name(s.Cmd));
                if (s.Cmd == ArchPrctlOption.EnableTaggedAddr) w.WriteNumber("bits", s.Target);
                break;
            case StepKind.Membarrier:
                w.WriteString("membarrier", MembarrierCmd.Name(s.Cmd));
                if (s.Flags == MembarrierCmd.FlagCpu) w.WriteString("flags", "CPU");
                else if (s.Flags != 0) w.WriteNumber("flags", s.Flags);
                if (s.CpuId >= 0) w.WriteNumber("cpu", s.CpuId);
                break;
            default:
                throw new InvalidOperationException($"step kind {s.Kind} has no scenario form");
        }
        if (repeat > 1) w.WriteNumber("repeat", repeat);
        w.WriteEndObject();
    }
}
