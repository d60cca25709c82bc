using Twin.Actors.Supervision;
using Twin.Kernel;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Kernel.Tests;

/// <summary>Each Apply asserts the kernel's conditions; an impossible event is refused where it is applied.</summary>
public sealed class CpuStateTests
{
    private static CpuState Booted()
    {
        var s = new CpuState(0);
        s.Apply(new CpuBooted(0));
        return s;
    }

    [Fact]
    public void sched_switch_from_a_task_that_is_not_rq_curr_is_refused()
    {
        CpuState s = Booted();
        s.Apply(new TaskEnqueued(0, 5));
        var e = Assert.Throws<InvariantViolationException>(() => s.Apply(new SchedSwitched(0, 7, 5, PrevState.Runnable)));
        Assert.Contains("prev is rq->curr", e.Message);
    }

    [Fact]
    public void switching_in_a_task_that_was_not_queued_is_refused()
    {
        CpuState s = Booted();
        Assert.Throws<InvariantViolationException>(() => s.Apply(new SchedSwitched(0, -1, 5, PrevState.Runnable)));
    }

    [Fact]
    public void a_task_is_enqueued_once()
    {
        CpuState s = Booted();
        s.Apply(new TaskEnqueued(0, 5));
        Assert.Throws<InvariantViolationException>(() => s.Apply(new TaskEnqueued(0, 5)));
    }

    [Fact]
    public void a_runnable_prev_goes_back_to_the_runqueue_tail_and_a_sleeping_one_leaves()
    {
        CpuState s = Booted();
        s.Apply(new TaskEnqueued(0, 1));
        s.Apply(new TaskEnqueued(0, 2));
        s.Apply(new SchedSwitched(0, -1, 1, PrevState.Runnable));
        s.Apply(new SchedSwitched(0, 1, 2, PrevState.Runnable));
        Assert.Equal([1], s.Runqueue);
        s.Apply(new SchedSwitched(0, 2, 1, PrevState.Sleeping));
        Assert.Empty(s.Runqueue);
        Assert.Equal(1, s.Curr);
    }

    [Fact]
    public void entering_lazy_mode_with_init_mm_loaded_does_not_set_is_lazy()
    {
        CpuState s = Booted();
        s.Apply(new LazyTlbEntered(0, KernelIds.InitMm));
        Assert.False(s.IsLazy);
    }

    [Fact]
    public void a_kthread_must_borrow_the_active_mm_it_found()
    {
        CpuState s = Booted();
        s.Apply(new MmSwitched(0, 0, 3, Cr3Written: true, WasLazy: false));
        var e = Assert.Throws<InvariantViolationException>(() => s.Apply(new LazyTlbEntered(0, 4)));
        Assert.Contains("borrows", e.Message);
        s.Apply(new LazyTlbEntered(0, 3));
        Assert.True(s.IsLazy);
        Assert.Equal(3, s.ActiveMm);
    }

    [Fact]
    public void skipping_the_CR3_write_is_only_legal_when_unlazying_into_the_same_mm()
    {
        CpuState s = Booted();
        Assert.Throws<InvariantViolationException>(() => s.Apply(new MmSwitched(0, 0, 3, Cr3Written: false, WasLazy: false)));
        s.Apply(new MmSwitched(0, 0, 3, Cr3Written: true, WasLazy: false));
        Assert.Throws<InvariantViolationException>(() => s.Apply(new MmSwitched(0, 3, 3, Cr3Written: false, WasLazy: false)));
        s.Apply(new LazyTlbEntered(0, 3));
        s.Apply(new MmSwitched(0, 3, 3, Cr3Written: false, WasLazy: true));
        Assert.False(s.IsLazy);
    }
}
