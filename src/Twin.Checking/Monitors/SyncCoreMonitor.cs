using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// P-SC (kernel-model §3.6): after PRIVATE_EXPEDITED_SYNC_CORE returns 0, every user-mode
/// instruction of the mm executed on any CPU (the caller's included) comes after a core-serializing
/// event on that CPU that followed W, the last code write to the mm before the call. Checked when
/// the call returns (CPUs already in user mode in the mm) and at every later return to user mode in
/// the mm. Finds B4, B5, B6, B8, B8b.
/// </summary>
public sealed class SyncCoreMonitor : Monitor
{
    private readonly int[] _callMm = new int[Limits.MaxCpus];
    private readonly long[] _callW = new long[Limits.MaxCpus];
    private readonly long[] _callEntered = new long[Limits.MaxCpus];
    private long[] _lastCodeWrite = new long[16];
    private long[] _obligation = new long[16];
    private long[] _obligationCall = new long[16];

    public override string Property => "P-SC";

    public override string Guarantee =>
        "membarrier(2) MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: \"upon return from system call the calling thread has a guarantee " +
        "that all its running thread siblings have executed a core serializing instruction\"";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out CodeWritten w))
        {
            Grow(w.Mm);
            _lastCodeWrite[w.Mm] = meta.EventIndex;
        }
        else if (Is(in evt, out MembarrierEntered me))
        {
            _callMm[me.Cpu] = me.Cmd == MembarrierCmd.PrivateExpeditedSyncCore && me.Flags == 0 ? me.Mm : KernelIds.None;
            Grow(me.Mm);
            _callW[me.Cpu] = _lastCodeWrite[me.Mm];
            _callEntered[me.Cpu] = meta.EventIndex;
        }
        else if (Is(in evt, out MembarrierExited mx))
        {
            int mm = _callMm[mx.Cpu];
            _callMm[mx.Cpu] = KernelIds.None;
            long w2 = _callW[mx.Cpu];
            if (mm == KernelIds.None || mx.Ret != 0 || w2 == 0) return;
            if (w2 > _obligation[mm])
            {
                _obligation[mm] = w2;
                _obligationCall[mm] = _callEntered[mx.Cpu];
            }
            // CPUs already executing the mm's user code when the call returns.
            for (int c = 0; c < View.Cpus; c++)
            {
                if (View.Mode[c] == CpuMode.User && View.CurrMm(c) == mm && View.LastCoreSerialize[c] < w2)
                {
                    Report(in meta, c, mm,
                        $"membarrier(SYNC_CORE) from CPU {mx.Cpu} returns while CPU {c} runs mm {mm} in user mode with no core-serializing event since the code write (event {w2})",
                        task: View.Curr[c], windowStart: w2);
                }
            }
        }
        else if (Is(in evt, out ReturnedToUser ru))
        {
            int mm = View.TaskMm(ru.Task);
            if (mm <= 0 || mm >= _obligation.Length) return;
            long w2 = _obligation[mm];
            if (w2 == 0 || View.LastCoreSerialize[ru.Cpu] > w2) return;
            Report(in meta, ru.Cpu, mm,
                $"CPU {ru.Cpu} returns to user mode in mm {mm} by {ru.Path} with no core-serializing event since the code write (event {w2}) " +
                $"that membarrier(SYNC_CORE) at event {_obligationCall[mm]} promised to make visible",
                task: ru.Task, windowStart: w2);
        }
    }

    private void Grow(int mm)
    {
        if (mm < _lastCodeWrite.Length) return;
        int n = Math.Max(mm + 1, _lastCodeWrite.Length * 2);
        Array.Resize(ref _lastCodeWrite, n);
        Array.Resize(ref _obligation, n);
        Array.Resize(ref _obligationCall, n);
    }
}
