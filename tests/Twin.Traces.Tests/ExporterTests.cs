using System.Text.Json;
using System.Text.RegularExpressions;
using Twin.Checking;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Traces.Export;

namespace Twin.Traces.Tests;

public sealed class ExporterTests
{
    /// <summary>A small hand-made window: a membarrier call on CPU 0 with an IPI to CPU 1, and a violation.</summary>
    private static Timeline Sample()
    {
        var events = new List<TimelineEvent>();
        long i = 0;
        void Add(long ns, string stream, object e) => events.Add(new TimelineEvent(++i, ns, stream, e));
        Add(0, "cpu-0", new SchedSwitched(0, KernelIds.IdleTask(0), 1, PrevState.Runnable, 0));
        Add(0, "cpu-1", new SchedSwitched(1, KernelIds.IdleTask(1), 2, PrevState.Runnable, 0));
        Add(100, "cpu-0", new ReturnedToUser(0, 1, ReturnPath.Iret));
        Add(150, "cpu-1", new ReturnedToUser(1, 2, ReturnPath.Iret));
        Add(1000, "cpu-0", new KernelEntered(0, 1, EntryReason.Syscall));
        Add(1100, "cpu-0", new MembarrierEntered(0, 1, 1, MembarrierCmd.PrivateExpedited, 0, -1));
        Add(1200, "cpu-0", new FullBarrier(0, BarrierReason.MembarrierEntry));
        Add(1300, "cpu-0", new MembarrierSampled(0, CpuMask.Empty.With(0).With(1)));
        Add(1300, "ipi-0", new IpiSent(7, 0, 1, IpiKind.Mb, 1, 0));
        Add(2300, "cpu-1", new KernelEntered(1, 2, EntryReason.Interrupt));
        Add(2300, "cpu-1", new FullBarrier(1, BarrierReason.IpiHandler));
        Add(2300, "cpu-1", new IpiHandled(1, 7, IpiKind.Mb, 0));
        Add(2300, "cpu-1", new CoreSerialized(1, CoreSerializeReason.Iret));
        Add(2300, "cpu-1", new ReturnedToUser(1, 2, ReturnPath.Iret));
        Add(2400, "cpu-0", new FullBarrier(0, BarrierReason.MembarrierExit));
        Add(2400, "cpu-0", new MembarrierExited(0, 1, 0));
        Add(2500, "mm-1", new TlbGenIncremented(1, 2, false));
        Add(3000, "cpu-0", new SchedSwitched(0, 1, KernelIds.IdleTask(0), PrevState.Sleeping, -1));
        var violation = new Violation("P-SC", 2400, 1, 1, 15, "CPU 1 returns <to> user & \"more\"") { Task = 2, WindowStart = 6, Guarantee = "the guarantee" };
        return new Timeline("sample run", 2, events, [violation]);
    }

    [Fact]
    public void perfetto_json_follows_the_trace_event_format()
    {
        var buffer = new MemoryStream();
        PerfettoExporter.Write(Sample(), buffer);
        using JsonDocument doc = JsonDocument.Parse(buffer.ToArray());
        JsonElement root = doc.RootElement;
        Assert.Equal("ns", root.GetProperty("displayTimeUnit").GetString());
        var events = root.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.All(events, e =>
        {
            string ph = e.GetProperty("ph").GetString()!;
            Assert.Contains(ph, new[] { "M", "X", "i", "s", "f", "C" });
            Assert.True(e.GetProperty("pid").ValueKind == JsonValueKind.Number);
            if (ph != "M") Assert.True(e.GetProperty("ts").GetDouble() >= 0);
            if (ph == "X") Assert.True(e.GetProperty("dur").GetDouble() >= 0);
        });
        // Flows come in pairs with one id: the IPI arrow from CPU 0 to CPU 1.
        var starts = events.Where(e => e.GetProperty("ph").GetString() == "s").Select(e => e.GetProperty("id").GetInt64()).ToList();
        var finishes = events.Where(e => e.GetProperty("ph").GetString() == "f").Select(e => e.GetProperty("id").GetInt64()).ToList();
        Assert.Equal([7L], starts);
        Assert.Equal(starts, finishes);
        var names = events.Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_name")
            .Select(e => e.GetProperty("args").GetProperty("name").GetString()).ToList();
        Assert.Equal(["CPU 0", "CPU 1"], names);
        Assert.Contains(events, e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("name").GetString() == "membarrier(PRIVATE_EXPEDITED)"
            && Math.Abs(e.GetProperty("dur").GetDouble() - 1.3) < 1e-9);
        Assert.Contains(events, e => e.GetProperty("ph").GetString() == "i" && e.GetProperty("name").GetString() == "VIOLATION P-SC");
        Assert.Contains(events, e => e.GetProperty("ph").GetString() == "C" && e.GetProperty("name").GetString() == "tlb_gen mm 1");
    }

    [Fact]
    public void the_scheduler_goes_out_as_ftrace_text_that_perfettos_line_tokenizer_accepts()
    {
        string text = PerfettoExporter.FtraceText(Sample());
        string[] lines = [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#'))];
        Assert.Equal(3, lines.Length);
        // Perfetto's systrace line tokenizer (trace-formats.md §1).
        var tokenizer = new Regex(@"-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*([a-zA-Z.]{3}[0-9a-f.]{1,2}\s*)?(\d+\.\d+):\s+(\S+):");
        Assert.All(lines, l => Assert.Matches(tokenizer, l));
        Assert.Contains("swapper/0-0       [000] d..2.     0.000000: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=task-1 next_pid=1 next_prio=120", lines[0]);
        Assert.Contains("prev_state=S ==> next_comm=swapper/0 next_pid=0", lines[2]);
        Assert.Contains("#P:2", text);
    }

    [Fact]
    public void html_is_self_contained_escapes_text_and_draws_every_lane_arrow_and_violation()
    {
        var writer = new StringWriter();
        HtmlExporter.Write(Sample(), writer);
        string html = writer.ToString();
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.Contains(">CPU 0</text>", html);
        Assert.Contains(">CPU 1</text>", html);
        Assert.Contains("marker-end=\"url(#arrow)\"", html);
        Assert.Contains("IPI 7 Mb CPU 0 → CPU 1", html);
        Assert.Contains("membarrier(PRIVATE_EXPEDITED) = 0", html);
        Assert.Contains("CPU 1 returns &lt;to&gt; user &amp; &quot;more&quot;", html);
        Assert.DoesNotContain("<to>", html);
        Assert.Contains("window of P-SC: events 6–15", html);
        Assert.Equal(18, Regex.Matches(html, "<tr><td>|<tr class=\"v\"><td>").Count);
    }

    [Fact]
    public void the_window_opens_before_the_first_violations_proof_and_is_bounded()
    {
        var v = new Violation("P-PE", 0, 0, 0, 5000, "m") { WindowStart = 4000 };
        Assert.Equal((3940L, 5020L), Timeline.WindowFor([v], 100_000));
        Assert.Equal((1L, 3000L), Timeline.WindowFor([], 100_000));
        var late = new Violation("P-PE", 0, 0, 0, 90_000, "m") { WindowStart = 10 };
        (long from, long to) = Timeline.WindowFor([late], 100_000);
        Assert.Equal(3000, to - from + 1);
        Assert.Equal(90_020, to);
    }
}
