using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void the_html_of_a_counterexample_renders_in_headless_chromium()
    {
        var run = TwinProcess.Run(_dir.Path, "run", "--scenario", TwinProcess.Repo("config/scenarios/bugs/B8.json"), "--journal", "sqlite:b8.db", "--json");
        Assert.Equal(1, run.ExitCode);
        var export = TwinProcess.Run(_dir.Path, "export", "sqlite:b8.db", "--html", "b8.html", "--perfetto", "b8.json");
        Assert.True(export.ExitCode == 0, export.Stderr);
        string html = File.ReadAllText(_dir.File("b8.html"));
        Assert.Contains("LAZY-1", html);
        Assert.Contains("P-SC", html);
        Assert.Contains("<svg", html);

        string png = _dir.File("b8.png");
        HeadlessChromium.Screenshot(_dir.File("b8.html"), png, _dir.File("chrome-profile"));
        HeadlessChromium.AssertDrawn(png);
    }

    /// <summary>Runs a scenario into NAME.db (expecting <paramref name="exitCode"/>), exports it, and returns the HTML and the Perfetto JSON.</summary>
    private (string Html, string Perfetto, TwinProcess.Result Run) RunAndExport(string scenario, string name, int exitCode, params string[] exportArgs)
    {
        var run = TwinProcess.Run(_dir.Path, "run", "--scenario", TwinProcess.Repo(scenario), "--journal", $"sqlite:{name}.db", "--json");
        Assert.True(run.ExitCode == exitCode, run.Stderr);
        var export = TwinProcess.Run(_dir.Path, ["export", $"sqlite:{name}.db", "--html", $"{name}.html", "--perfetto", $"{name}.json", .. exportArgs]);
        Assert.True(export.ExitCode == 0, export.Stderr);
        return (File.ReadAllText(_dir.File($"{name}.html")), File.ReadAllText(_dir.File($"{name}.json")), run);
    }

    [Fact]
    public void the_LAM_protocol_shows_in_both_exports()
    {
        // B14: a switch into the mm straddles the enable; the enable IPI then repairs the torn load.
        (string html, string perfetto, _) = RunAndExport("config/scenarios/bugs/B14.json", "lam", exitCode: 1);
        Assert.Contains("LAM_U57 enabled", html);
        Assert.Contains("arch_prctl(ARCH_ENABLE_TAGGED_ADDR, 6) = 0", html);
        Assert.Contains("LAM loaded (SwitchMm): CR3 0 bits, untag mask 6 bits", html); // the torn load, drawn red
        Assert.Contains("EnableLam", html); // the IPI arrow
        Assert.Contains("enable_lam_func", perfetto);
    }

    [Fact]
    public void text_poke_phases_int3_handlers_and_deferred_syncs_show_in_both_exports()
    {
        // B23: an isolated CPU's deferred syncs, one of them lost; a batch's phases and INT3 traps around it.
        (string html, string perfetto, _) = RunAndExport("config/scenarios/bugs/B23.json", "tp", exitCode: 1, "--events", "1..400");
        Assert.Contains("text_poke batch 1: P1 INT3 written", html);
        Assert.Contains(">S3</text>", html); // the sync ticks on the patching CPU's lane
        Assert.Contains("CT_WORK_SYNC set by CPU 0 (sync deferred)", html);
        Assert.Contains("CT_WORK_SYNC flushed: deferred sync_core()", html);
        Assert.Contains("site 0: INT3 (Syscall)", html);
        Assert.Contains("I1", html);
        Assert.Contains("do_sync_core", perfetto);
        Assert.Contains("context_tracking", perfetto);
    }

    [Fact]
    public void injected_faults_show_in_both_exports_and_in_the_run_summary()
    {
        (string html, string perfetto, TwinProcess.Result run) = RunAndExport("config/scenarios/faults/skip-ipi-barrier.json", "f", exitCode: 1);
        Assert.Equal("P-PE", run.Json.GetProperty("violations")[0].GetProperty("property").GetString());
        Assert.Contains("fault injected: SkipBarrier IpiHandler", html);
        Assert.Contains("fault: SkipBarrier IpiHandler", perfetto);
    }

    [Fact]
    public void a_hotplugged_CPU_shows_offline_in_both_exports()
    {
        (string html, string perfetto, _) = RunAndExport("config/scenarios/faults/hotplug.json", "hp", exitCode: 0);
        Assert.Contains("<title>CPU offline</title>", html);
        Assert.Contains("fault injected: Hotplug", html);
        Assert.Contains("CPU offline", perfetto);
        Assert.Contains("CPU online (booted again)", perfetto);
    }

    [Fact]
    public void an_imported_trace_exports_as_the_same_timeline_as_a_simulation()
    {
        // A real recording whose ipi_mb handlers are cut (the IPIs still queued): the calls return
        // before their targets ran them. Imported into a journal, it exports like a simulated run.
        string[] lines = File.ReadAllLines(TwinProcess.Repo("replays/ftrace/mb-3t-twin.trace"));
        File.WriteAllLines(_dir.File("cut.trace"), lines.Where(l => !l.Contains("csd_function_entry: func=ipi_mb,", StringComparison.Ordinal)
            && !l.Contains("csd_function_exit: func=ipi_mb,", StringComparison.Ordinal)));
        File.Copy(TwinProcess.Repo("replays/ftrace/mb-3t-twin.trace.tasks"), _dir.File("cut.trace.tasks"));
        var import = TwinProcess.Run(_dir.Path, "import", "cut.trace", "--journal", "sqlite:t.db", "--run-id", "cut", "--json");
        Assert.Equal(1, import.ExitCode);
        long first = import.Json.GetProperty("violations")[0].GetProperty("line").GetInt64();
        var export = TwinProcess.Run(_dir.Path, "export", "sqlite:t.db", "--run", "cut", "--html", "t.html", "--perfetto", "t.json");
        Assert.True(export.ExitCode == 0, export.Stderr);
        string html = File.ReadAllText(_dir.File("t.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("CSD-1", html);
        Assert.Contains("P-PE", html);
        Assert.Contains("MembarrierEntered", html);        // the membarrier call's bracket and its events
        Assert.Contains("IpiSent", html);                  // the IPI arrows from csd_queue_cpu
        Assert.Contains($"lines {Math.Max(1, first - 300)}", html); // the window is around the first violation, in trace lines
        using (var perfetto = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_dir.File("t.json"))))
        {
            string names = string.Join(",", perfetto.RootElement.GetProperty("traceEvents").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
            Assert.Contains("IPI ipi_mb", names);
            Assert.Contains("membarrier(PRIVATE_EXPEDITED)", names);
            Assert.Contains("VIOLATION CSD-1", names);
            Assert.Contains("sched_switch: prev_comm=task-", perfetto.RootElement.GetProperty("systemTraceEvents").GetString());
        }
        string png = _dir.File("t.png");
        HeadlessChromium.Screenshot(_dir.File("t.html"), png, _dir.File("chrome-profile"));
        HeadlessChromium.AssertDrawn(png);

        // The trace file itself exports the same way, without a journal.
        var direct = TwinProcess.Run(_dir.Path, "export", "cut.trace", "--html", "f.html");
        Assert.True(direct.ExitCode == 0, direct.Stderr);
        Assert.Contains("CSD-1", File.ReadAllText(_dir.File("f.html")));
    }

    [Fact]
    public void export_without_an_output_is_bad_usage()
    {
        var r = TwinProcess.Run(_dir.Path, "export", "sqlite:none.db");
        Assert.Equal(2, r.ExitCode);
    }
}
