using System.Text;
using System.Text.Json;
using Twin.Checking;

namespace Twin.Simulation.Running;

/// <summary>The one machine-readable summary object of <c>--json</c> (architecture.md "The twin command").</summary>
public static class SummaryJson
{
    public static string Write(SimulationResult r, Action<Utf8JsonWriter>? extra = null)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("runId", r.RunId);
            w.WriteNumber("seed", r.Seed);
            w.WriteString("journal", r.Journal);
            w.WriteNumber("events", r.Events);
            w.WriteString("stateHash", SimulationResult.FormatHash(r.StateHash));
            w.WriteNumber("virtualTimeNs", r.VirtualTimeNs);
            w.WriteNumber("checkpoints", r.Checkpoints);
            w.WriteNumber("wallSeconds", Math.Round(r.WallSeconds, 3));
            w.WriteNumber("eventsPerSecond", Math.Round(r.EventsPerSecond));
            if (r.StopsAtFirstViolation) w.WriteBoolean("stopsAtFirstViolation", true);
            w.WriteStartArray("violations");
            foreach (Violation v in r.Violations)
            {
                w.WriteStartObject();
                Soak.ViolationJson.WriteFields(w, v);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (r.Syscalls.Count > 0)
            {
                w.WriteStartArray("syscalls");
                foreach (Twin.Kernel.Tasks.SyscallRecord c in r.Syscalls)
                {
                    w.WriteStartObject();
                    bool prctl = c.Kind == Twin.Kernel.Tasks.StepKind.ArchPrctl;
                    // ARCH_GET_UNTAG_MASK's value is a mask, negative when the top bit is set, not an error.
                    bool value = prctl && c.Cmd == Twin.Kernel.Lam.ArchPrctlOption.GetUntagMask;
                    bool failed = c.Returned && c.Ret < 0 && !value;
                    w.WriteString("task", c.Task);
                    w.WriteNumber("step", c.StepIndex);
                    w.WriteString("syscall", prctl ? "arch_prctl" : "membarrier");
                    w.WriteString("cmd", prctl ? Twin.Kernel.Lam.ArchPrctlOption.Name(c.Cmd) : Twin.Kernel.Membarrier.MembarrierCmd.Name(c.Cmd));
                    w.WriteNumber(prctl ? "arg" : "flags", c.Flags);
                    if (!prctl) w.WriteNumber("cpu", c.CpuId);
                    if (!c.Returned) w.WriteNull("ret");
                    else w.WriteNumber("ret", failed ? -1 : c.Ret);
                    if (failed) w.WriteString("errno", Twin.Kernel.Membarrier.Errno.Name((int)-c.Ret));
                    else w.WriteNull("errno");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            extra?.Invoke(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
