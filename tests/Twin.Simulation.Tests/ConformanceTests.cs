using Twin.Checking;
using Twin.Kernel.Arch;
using Twin.Simulation.Conformance;

namespace Twin.Simulation.Tests;

/// <summary>
/// <c>twin conform</c>: the kernel model, started where each traced membarrier call found the
/// machine, makes the call as the kernel did on the real recordings; copies mutated the way a
/// different kernel (or a different model) would behave diverge, with the aspect that differs.
/// </summary>
public sealed class ConformanceTests
{
    /// <summary>Every recording under replays/ (ftrace text, trace-cmd and perf printings), found on disk, so a new one is covered too.</summary>
    public static TheoryData<string> Recordings() =>
    [
        .. Directory.EnumerateFiles(RepoPaths.Of("replays"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f).Replace('\\', '/'))
            .Where(f => f.Count(c => c == '/') == 2 && Path.GetExtension(f) is not (".tasks" or ".c" or ".sh" or ".md" or ".dat"))
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>
    /// Recordings where the trace cannot decide 95 % of the calls, with the share it does decide and
    /// why (docs/conform.md): everywhere else at least 95 % of the calls' IPI targets and return values are compared.
    /// </summary>
    private static readonly Dictionary<string, double> Blind = new(StringComparer.Ordinal)
    {
        // 11 wakeups from idle whose sched_switch line this VM did not log: the FLAG_CPU calls made while the target woke.
        ["replays/ftrace/rseq-2t.trace"] = 0.70,
        // trace-cmd report --cpu 0: CPU 1's lines are not in it.
        ["replays/trace-cmd/mb-3t.report-cpu0"] = 0.90,
        // One call each, by a .NET process that began before the trace: only its own return shows its registration.
        ["replays/ftrace/true-flush-at-start.trace"] = 0,
        ["replays/ftrace/true-switch-tail.trace"] = 0,
    };

    [Theory]
    [MemberData(nameof(Recordings))]
    public void The_model_makes_each_recorded_call_as_the_kernel_did(string trace)
    {
        ConformanceResult r = ConformanceRunner.Run(RepoPaths.Of(trace), ArchProfile.X86_64);
        // b21-exit-global records a kernel bug (replays/README.md): its one divergence is tested on its own below.
        Assert.All(r.Check.Divergences, d => Assert.Contains("Twin's B21 path", d.Message));
        Assert.InRange(r.Check.Divergences.Count, 0, trace.EndsWith("b21-exit-global.trace", StringComparison.Ordinal) ? 1 : 0);
        double floor = Blind.GetValueOrDefault(trace, 0.95);
        foreach (string aspect in (string[])[ConformanceCheck.Targets, ConformanceCheck.Return])
        {
            PropertyTally t = r.Check.Aspects[aspect];
            Assert.True(t.Checked >= floor * r.Check.Calls,
                $"{trace} {aspect}: {t.Checked} of {r.Check.Calls} calls decided; {string.Join("; ", t.UndecidableReasons)}");
        }
        // Experiments are shared by calls that start alike: far fewer model runs than calls.
        Assert.InRange(r.Check.Experiments, 0, Math.Max(1, r.Check.Calls / 5));
    }

    [Fact]
    public void The_recording_of_B21_diverges_only_where_the_kernel_took_B21s_path()
    {
        // The kernel skipped a CPU whose rq->membarrier_state exit_mm() had cleared (docs/bugs/B21.md); the
        // model's default closes that gap, so the call diverges, and the divergence says which path it was.
        ConformanceResult r = ConformanceRunner.Run(RepoPaths.Of("replays/ftrace/b21-exit-global.trace"), ArchProfile.X86_64);
        Divergence d = Assert.Single(r.Check.Divergences);
        Assert.Equal((ConformanceCheck.Targets, 10067L, "no CPU", "CPUs {0} with ipi_mb"), (d.Aspect, d.Line, d.Trace, d.Model));
        Assert.Contains("exit_mm() of task 17653", d.Message);
        Assert.Contains("Twin's B21 path", d.Message);
        Assert.InRange(r.Check.Aspects[ConformanceCheck.Targets].Checked, r.Check.Calls * 95 / 100, r.Check.Calls);
    }

    [Fact]
    public void Before_a_cpus_first_line_its_state_is_unknown_not_idle()
    {
        // A ring buffer that wrapped per CPU: CPU 0's lines of mb-3t-twin's first 40 % gone, as if its buffer
        // had been overwritten while CPU 1's was not. The calls CPU 1 made then (56 of them), which IPI'd CPU 0
        // while it ran the caller's threads, are undecidable; reading CPU 0 as idle made them divergences.
        ConformanceResult r = RunMutated("replays/ftrace/mb-3t-twin.trace", lines =>
        {
            int cut = lines.Count * 2 / 5;
            for (int i = cut; i >= 0; i--)
            {
                if (lines[i].Contains("[000]", StringComparison.Ordinal)) lines.RemoveAt(i);
            }
        });
        Assert.Empty(r.Check.Divergences);
        Assert.True(r.Check.Aspects[ConformanceCheck.Targets].UndecidableReasons.GetValueOrDefault(ConformanceCheck.NotSeenYet) > 10,
            string.Join("; ", r.Check.Aspects[ConformanceCheck.Targets].UndecidableReasons));
        Assert.InRange(r.Check.Aspects[ConformanceCheck.Targets].Checked, 100, long.MaxValue);
    }

    [Fact]
    public void A_kernel_that_does_not_queue_ipi_mb_for_a_cpu_running_the_callers_thread_diverges_on_the_targets()
    {
        ConformanceResult r = RunMutated("replays/ftrace/mb-3t.trace", lines =>
        {
            int queued = NthLine(lines, "csd_queue_cpu: cpu=1 callsite=membarrier_private_expedited", 10);
            lines.RemoveAt(queued);
        });
        Divergence d = Assert.Single(r.Check.Divergences);
        Assert.Equal(ConformanceCheck.Targets, d.Aspect);
        Assert.Equal("no CPU", d.Trace);
        Assert.Equal("CPUs {1} with ipi_mb", d.Model);
        Assert.Equal(0, r.Check.Aspects[ConformanceCheck.Return].Violated);
    }

    [Fact]
    public void A_kernel_that_sends_ipi_mb_where_sync_core_is_due_diverges_on_the_callback()
    {
        ConformanceResult r = RunMutated("replays/ftrace/mb-3t.trace", lines =>
        {
            int queued = NthLine(lines, "func=ipi_sync_core csd=", 5);
            lines[queued] = lines[queued].Replace("func=ipi_sync_core", "func=ipi_mb", StringComparison.Ordinal);
        });
        Divergence d = Assert.Single(r.Check.Divergences);
        Assert.Equal("PRIVATE_EXPEDITED_SYNC_CORE", d.Command);
        Assert.Contains("ipi_sync_core", d.Model);
    }

    [Fact]
    public void A_return_value_the_model_does_not_give_diverges_on_the_return()
    {
        ConformanceResult r = RunMutated("replays/ftrace/mb-3t.trace", lines =>
        {
            int eperm = NthLine(lines, "sys_membarrier -> 0xffffffffffffffff", 0);
            lines[eperm] = lines[eperm].Replace("0xffffffffffffffff", "0x0", StringComparison.Ordinal);
        });
        Divergence d = Assert.Single(r.Check.Divergences);
        Assert.Equal(ConformanceCheck.Return, d.Aspect);
        Assert.Equal("0", d.Trace);
        Assert.Equal("-EPERM", d.Model);
    }

    [Fact]
    public void The_same_trace_gives_the_same_report_in_every_run()
    {
        ConformanceResult a = ConformanceRunner.Run(RepoPaths.Of("replays/ftrace/rseq-2t.trace"), ArchProfile.X86_64);
        ConformanceResult b = ConformanceRunner.Run(RepoPaths.Of("replays/ftrace/rseq-2t.trace"), ArchProfile.X86_64);
        Assert.Equal(a.Check.Experiments, b.Check.Experiments);
        foreach ((string aspect, Checking.PropertyTally t) in a.Check.Aspects)
        {
            Assert.Equal(t.Checked, b.Check.Aspects[aspect].Checked);
            Assert.Equal(t.Undecidable, b.Check.Aspects[aspect].Undecidable);
        }
    }

    private static int NthLine(List<string> lines, string text, int n)
    {
        int found = -1;
        for (int i = 0; i <= n; i++)
        {
            found = lines.FindIndex(found + 1, l => l.Contains(text, StringComparison.Ordinal));
            Assert.True(found >= 0, $"the trace has {n + 1} lines with '{text}'");
        }
        return found;
    }

    private static ConformanceResult RunMutated(string trace, Action<List<string>> mutate)
    {
        string source = RepoPaths.Of(trace);
        string dir = Directory.CreateTempSubdirectory("twin-conform-").FullName;
        try
        {
            string copy = Path.Combine(dir, Path.GetFileName(source));
            List<string> lines = [.. File.ReadAllLines(source)];
            mutate(lines);
            File.WriteAllLines(copy, lines);
            if (File.Exists(source + ".tasks")) File.Copy(source + ".tasks", copy + ".tasks");
            return ConformanceRunner.Run(copy, ArchProfile.X86_64);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
