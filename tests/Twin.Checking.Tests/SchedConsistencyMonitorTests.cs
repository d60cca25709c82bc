using Twin.Actors.Persistence;
using Twin.Checking.Monitors;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

public sealed class SchedConsistencyMonitorTests
{
    private readonly SchedConsistencyMonitor _monitor = new();
    private long _index;

    private void Feed<T>(T evt) where T : struct, IJournaledEvent<T>
    {
        _index++;
        _monitor.OnEvent(new EventMeta("cpu", _index, _index * 10, _index), in evt);
    }

    [Fact]
    public void a_consistent_schedule_reports_nothing()
    {
        Feed(new TaskEnqueued(0, 1));
        Feed(new SchedSwitched(0, KernelIds.IdleTask(0), 1, PrevState.Runnable, -1));
        Feed(new TaskEnqueued(1, 2));
        Feed(new SchedSwitched(1, KernelIds.IdleTask(1), 2, PrevState.Runnable, -1));
        Feed(new SchedSwitched(0, 1, KernelIds.IdleTask(0), PrevState.Sleeping, -1));
        Feed(new TaskEnqueued(1, 1));
        Feed(new SchedSwitched(1, 2, 1, PrevState.Runnable, -1));
        Assert.Empty(_monitor.Violations);
    }

    [Fact]
    public void a_task_running_on_two_CPUs_is_reported_with_the_event_that_shows_it()
    {
        Feed(new TaskEnqueued(0, 1));
        Feed(new SchedSwitched(0, KernelIds.IdleTask(0), 1, PrevState.Runnable, -1));
        Feed(new TaskEnqueued(1, 1));
        Violation v = Assert.Single(_monitor.Violations);
        Assert.Equal("SCHED-1", v.Property);
        Assert.Equal(3, v.EventIndex);
        Assert.Equal(1, v.Cpu);
        Assert.Contains("while running on CPU 0", v.Message);
    }

    [Fact]
    public void switching_in_a_task_queued_elsewhere_is_reported()
    {
        Feed(new TaskEnqueued(0, 1));
        Feed(new SchedSwitched(1, KernelIds.IdleTask(1), 1, PrevState.Runnable, -1));
        Assert.Contains(_monitor.Violations, v => v.Message.Contains("without being queued there"));
    }

    [Fact]
    public void a_sched_switch_whose_prev_did_not_run_there_is_reported()
    {
        Feed(new TaskEnqueued(0, 1));
        Feed(new SchedSwitched(0, 5, 1, PrevState.Runnable, -1));
        Assert.Contains(_monitor.Violations, v => v.Message.Contains("swapper/0 was running there"));
    }

    [Fact]
    public void violations_beyond_the_kept_limit_are_counted_not_stored()
    {
        Feed(new TaskEnqueued(0, 1));
        for (int i = 0; i < Monitor.MaxKeptViolations + 50; i++) Feed(new TaskEnqueued(0, 1));
        Assert.Equal(Monitor.MaxKeptViolations, _monitor.Violations.Count);
        Assert.Equal(Monitor.MaxKeptViolations + 50, _monitor.ViolationCount);
    }
}
