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
    [Theory]
    [InlineData("replays/ftrace/mb-3t.trace", 200)]
    [InlineData("replays/ftrace/mix-2t-global.trace", 130)]
    [InlineData("replays/ftrace/rseq-2t.trace", 150)]
    [InlineData("replays/ftrace/jit-1t.trace", 200)]
    [InlineData("replays/ftrace/uring-sqpoll.trace", 100)]
    [InlineData("replays/ftrace/exec-storm.trace", 690)]
    [InlineData("replays/ftrace/mb-loaded.trace", 800)]
    [InlineData("replays/ftrace/rseq-2t-loaded.trace", 100)]
    [InlineData("replays/trace-cmd/mb-3t.report-l", 80)]
    [InlineData("replays/trace-cmd/mb-3t.report-cpu0", 70)]
    [InlineData("replays/perf/mb-3t.perf-script", 80)]
    public void The_model_makes_each_recorded_call_as_the_kernel_did(string trace, int atLeastAgreeing)
    {
        ConformanceResult r = ConformanceRunner.Run(RepoPaths.Of(trace), ArchProfile.X86_64);
        Assert.Empty(r.Check.Divergences);
        Assert.InRange(r.Check.Aspects[ConformanceCheck.Targets].Checked, atLeastAgreeing, long.MaxValue);
        Assert.InRange(r.Check.Aspects[ConformanceCheck.Return].Checked, atLeastAgreeing, long.MaxValue);
        // Experiments are shared by calls that start alike: far fewer model runs than calls.
        Assert.InRange(r.Check.Experiments, 1, r.Check.Calls / 5);
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
