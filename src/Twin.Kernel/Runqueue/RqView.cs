namespace Twin.Kernel.Runqueue;

/// <summary>
/// A CPU's loads from a runqueue (its own, or <c>cpu_rq(cpu)</c> of another): <c>rq->curr</c>, the
/// queue, <c>rq->membarrier_state</c>, <c>rq->prev_mm</c>. Read-only: its CPU writes it by message
/// to the runqueue actor.
/// </summary>
public readonly struct RqView(RqState state)
{
    /// <summary><c>rq->curr</c>.</summary>
    public int Curr => state.Curr;

    public bool CurrIsIdle => state.CurrIsIdle;

    /// <summary>How many runnable tasks wait.</summary>
    public int Queued => state.Queue.Count;

    /// <summary>The task pick_next_task() takes first (<see cref="Queued"/> &gt; 0).</summary>
    public int QueueHead => state.Queue[0];

    /// <summary><c>rq->membarrier_state</c>.</summary>
    public int MembarrierState => state.MembarrierState;

    /// <summary><c>rq->prev_mm</c> (<see cref="KernelIds.NoPrevMm"/>: none).</summary>
    public int PrevMm => state.PrevMm;
}
