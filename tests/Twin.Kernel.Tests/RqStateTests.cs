using Twin.Actors;
using Twin.Kernel.Events;
using Twin.Kernel.Runqueue;

namespace Twin.Kernel.Tests;

/// <summary>The runqueue's Apply asserts the kernel's conditions; an impossible event is refused where it is applied.</summary>
public sealed class RqStateTests
{
    [Fact]
    public void sched_switch_from_a_task_that_is_not_rq_curr_is_refused()
    {
        var s = new RqState(0);
        s.Apply(new TaskEnqueued(0, 5));
        var e = Assert.Throws<InvariantViolationException>(() => s.Apply(new SchedSwitched(0, 7, 5, PrevState.Runnable, -1)));
        Assert.Contains("prev is rq->curr", e.Message);
    }

    [Fact]
    public void switching_in_a_task_that_was_not_queued_is_refused()
    {
        var s = new RqState(0);
        Assert.Throws<InvariantViolationException>(() => s.Apply(new SchedSwitched(0, -1, 5, PrevState.Runnable, 0)));
    }

    [Fact]
    public void a_task_is_enqueued_once()
    {
        var s = new RqState(0);
        s.Apply(new TaskEnqueued(0, 5));
        Assert.Throws<InvariantViolationException>(() => s.Apply(new TaskEnqueued(0, 5)));
    }

    [Fact]
    public void a_runnable_prev_goes_back_to_the_runqueue_tail_and_a_sleeping_one_leaves()
    {
        var s = new RqState(0);
        s.Apply(new TaskEnqueued(0, 1));
        s.Apply(new TaskEnqueued(0, 2));
        s.Apply(new SchedSwitched(0, -1, 1, PrevState.Runnable, 0));
        s.Apply(new SchedSwitched(0, 1, 2, PrevState.Runnable, 0));
        Assert.Equal([1], s.Queue);
        s.Apply(new SchedSwitched(0, 2, 1, PrevState.Sleeping, 0));
        Assert.Empty(s.Queue);
        Assert.Equal(1, s.Curr);
        Assert.False(s.CurrIsIdle);
    }

    [Fact]
    public void rq_prev_mm_is_set_by_the_switch_and_taken_by_finish_task_switch()
    {
        var s = new RqState(0);
        s.Apply(new TaskEnqueued(0, 1));
        s.Apply(new SchedSwitched(0, -1, 1, PrevState.Runnable, PrevMm: 3));
        Assert.Equal(3, s.PrevMm);
        Assert.Throws<InvariantViolationException>(() => s.Apply(new RqPrevMmCleared(0, 4)));
        s.Apply(new RqPrevMmCleared(0, 3));
        Assert.Equal(KernelIds.NoPrevMm, s.PrevMm);
    }

    [Fact]
    public void migrate_tasks_moves_every_queued_task_from_an_idle_runqueue()
    {
        var s = new RqState(0);
        s.Apply(new TaskEnqueued(0, 1));
        s.Apply(new TaskEnqueued(0, 2));
        Assert.Throws<InvariantViolationException>(() => s.Apply(new RqTasksMigrated(0, 1)));
        s.Apply(new RqTasksMigrated(0, 2));
        Assert.Empty(s.Queue);
    }
}
