using System.Runtime.CompilerServices;
using Twin.Kernel.Membarrier;

namespace Twin.Traces.Ftrace;

/// <summary>
/// Counts what a trace holds: events by kind, membarrier calls by command with their results, IPIs
/// sent and the callbacks they ran, TLB flushes by reason, tasks and CPUs seen.
/// </summary>
public sealed class TraceSummary : ITraceSink
{
    private readonly long[] _byKind = new long[Enum.GetValues<TraceEventKind>().Length];
    private readonly long[] _byFunc = new long[Enum.GetValues<CsdFunc>().Length];
    private readonly long[] _tlbByReason = new long[8];
    private readonly SortedDictionary<int, (long Calls, long Ok, long Failed)> _membarrier = [];
    private readonly Dictionary<int, int> _pendingCmd = [];
    private readonly HashSet<int> _tasks = [];
    private ulong _cpus;
    private int _lastPid;

    public long Count(TraceEventKind kind) => _byKind[(int)kind];

    public long Callbacks(CsdFunc func) => _byFunc[(int)func];

    /// <summary>tlb_flush events by reason number (0 task switch, 1 remote shootdown, 2 local, 3 local mm, 4 remote IPI send, 5 remote wrong CPU; 7: any other).</summary>
    public IReadOnlyList<long> TlbFlushesByReason => _tlbByReason;

    /// <summary>membarrier calls by command: calls entered, returns of 0 or more, returns of -errno.</summary>
    public IReadOnlyDictionary<int, (long Calls, long Ok, long Failed)> Membarrier => _membarrier;

    public int TasksSeen => _tasks.Count;

    public int CpusSeen => System.Numerics.BitOperations.PopCount(_cpus);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnEvent(in TraceRecord r)
    {
        _byKind[(int)r.Kind]++;
        if (r.Kind == TraceEventKind.Lost) return;
        if (r.Cpu < 64) _cpus |= 1UL << r.Cpu;
        if (r.Pid > 0 && r.Pid != _lastPid)
        {
            _lastPid = r.Pid; // one set lookup a run of a task's lines
            _tasks.Add(r.Pid);
        }
        switch (r.Kind)
        {
            case TraceEventKind.CsdFunctionEntry:
                _byFunc[(int)r.Func]++;
                break;
            case TraceEventKind.TlbFlush:
                _tlbByReason[r.Reason is >= 0 and < 7 ? r.Reason : 7]++;
                break;
            case TraceEventKind.SysEnterMembarrier:
                _pendingCmd[r.Pid] = r.Cmd;
                var entry = _membarrier.GetValueOrDefault(r.Cmd);
                _membarrier[r.Cmd] = entry with { Calls = entry.Calls + 1 };
                break;
            case TraceEventKind.SysExitMembarrier:
                if (_pendingCmd.Remove(r.Pid, out int cmd))
                {
                    var e = _membarrier[cmd];
                    _membarrier[cmd] = r.Ret < 0 ? e with { Failed = e.Failed + 1 } : e with { Ok = e.Ok + 1 };
                }
                break;
        }
    }

    public static string CommandName(int cmd) => MembarrierCmd.Name(cmd);
}
