using Twin.Kernel;

namespace Twin.Checking.Monitors;

/// <summary>A membarrier call in progress on a CPU, as monitors follow it from entry to exit.</summary>
internal struct MembarrierCall
{
    public bool Active;
    public int Task;
    public int Mm;
    public int Cmd;
    public int Flags;
    public int CpuId;
    public long Entered;
    /// <summary>Event index of the entry barrier (a), 0 until seen.</summary>
    public long BarrierA;
    /// <summary>CPUs the checker says must be interrupted (from its own view at sampling time).</summary>
    public CpuMask Required;
    /// <summary>CPUs whose handler completed between (a) and (c).</summary>
    public CpuMask Handled;
    public bool Sampled;
    /// <summary>Event index of the read of rq->curr (b).</summary>
    public long SampledAt;
}
