using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-RSEQ (kernel-model §3.6): a thread of the caller's mm that was inside an rseq critical
/// section on a CPU membarrier(PRIVATE_EXPEDITED_RSEQ) had to interrupt (any other CPU running the
/// mm, or only cpu_id with FLAG_CPU) does not commit that critical section after the call returns.
/// </summary>
public sealed class RseqMonitor : Monitor
{
    private readonly List<int>[] _inCs = new List<int>[Limits.MaxCpus];
    private readonly HashSet<int> _activeCs = [];
    private readonly Dictionary<int, long> _mustAbort = [];

    public RseqMonitor()
    {
        for (int i = 0; i < _inCs.Length; i++) _inCs[i] = [];
    }

    public override string Property => "P-RSEQ";

    public override string Guarantee =>
        "membarrier(2) MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ: \"Ensure the caller thread, upon return from system call, that all its running " +
        "thread siblings have any currently running rseq critical sections restarted\"";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out RseqCsEntered en))
        {
            _activeCs.Add(en.Task);
            _mustAbort.Remove(en.Task);
        }
        else if (Is(in evt, out RseqAborted ab))
        {
            _activeCs.Remove(ab.Task);
            _mustAbort.Remove(ab.Task);
            Uncatch(ab.Task);
        }
        else if (Is(in evt, out RseqCsCommitted cm))
        {
            _activeCs.Remove(cm.Task);
            // Committed before the call returned (before its IPI landed): allowed; and a critical
            // section entered after this one is a new one the call did not catch.
            Uncatch(cm.Task);
            if (_mustAbort.Remove(cm.Task, out long call))
            {
                Report(in meta, cm.Cpu, View.TaskMm(cm.Task),
                    $"task {cm.Task} commits the rseq critical section it was in when membarrier(RSEQ) at event {call} interrupted its CPU",
                    task: cm.Task, windowStart: call);
            }
        }
        else if (Is(in evt, out MembarrierSampled ms))
        {
            List<int> caught = _inCs[ms.Cpu];
            caught.Clear();
            if (!_rseqCall[ms.Cpu]) return;
            for (int c = 0; c < View.Cpus; c++)
            {
                int task = View.Curr[c];
                bool target = _flagCpu[ms.Cpu] ? c == _cpuId[ms.Cpu] : c != ms.Cpu;
                if (target && View.CurrMm(c) == _mm[ms.Cpu] && _activeCs.Contains(task)) caught.Add(task);
            }
        }
        else if (Is(in evt, out MembarrierEntered me))
        {
            _rseqCall[me.Cpu] = me.Cmd == MembarrierCmd.PrivateExpeditedRseq;
            _flagCpu[me.Cpu] = (me.Flags & MembarrierCmd.FlagCpu) != 0;
            _cpuId[me.Cpu] = me.CpuId;
            _mm[me.Cpu] = me.Mm;
            _entered[me.Cpu] = meta.EventIndex;
            _inCs[me.Cpu].Clear();
        }
        else if (Is(in evt, out MembarrierExited mx))
        {
            if (!_rseqCall[mx.Cpu] || mx.Ret != 0) return;
            foreach (int task in _inCs[mx.Cpu])
            {
                if (_activeCs.Contains(task)) _mustAbort[task] = _entered[mx.Cpu];
            }
            _inCs[mx.Cpu].Clear();
            _rseqCall[mx.Cpu] = false;
        }
    }

    /// <summary>The critical section a call caught has ended (aborted or committed): the task is no longer caught by any call in flight.</summary>
    private void Uncatch(int task)
    {
        for (int c = 0; c < View.Cpus; c++) _inCs[c].Remove(task);
    }

    private readonly bool[] _rseqCall = new bool[Limits.MaxCpus];
    private readonly bool[] _flagCpu = new bool[Limits.MaxCpus];
    private readonly int[] _cpuId = new int[Limits.MaxCpus];
    private readonly int[] _mm = new int[Limits.MaxCpus];
    private readonly long[] _entered = new long[Limits.MaxCpus];
}
