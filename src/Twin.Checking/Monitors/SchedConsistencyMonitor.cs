using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Checking.Monitors;

/// <summary>
/// SCHED-1: a task is in exactly one place: running on one CPU, queued on one runqueue, or
/// asleep; a task switched in was queued on that CPU; <c>sched_switch</c>'s prev is the task
/// that ran there. Checks the scheduler events across CPUs, which no single CPU actor can.
/// </summary>
public sealed class SchedConsistencyMonitor : Monitor
{
    private const int Asleep = -1;

    /// <summary>Per task: CPU it runs on, or -1.</summary>
    private int[] _runningOn = new int[64];

    /// <summary>Per task: CPU whose runqueue holds it, or -1.</summary>
    private int[] _queuedOn = new int[64];

    /// <summary>Per CPU: task it runs (idle task until told otherwise).</summary>
    private int[] _curr = new int[8];

    public SchedConsistencyMonitor()
    {
        Array.Fill(_runningOn, Asleep);
        Array.Fill(_queuedOn, Asleep);
        for (int c = 0; c < _curr.Length; c++) _curr[c] = KernelIds.IdleTask(c);
    }

    public override string Property => "SCHED-1";

    public override string Guarantee => "__schedule(): a task runs on one CPU at a time, after it was put on that CPU's runqueue";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out TaskEnqueued q)) OnEnqueued(in meta, q);
        else if (Is(in evt, out SchedSwitched s)) OnSwitched(in meta, s);
        else if (Is(in evt, out CpuHotplugged hp) && !hp.Online)
        {
            // migrate_tasks(): what was queued on the dying CPU is enqueued elsewhere next.
            for (int t = 0; t < _queuedOn.Length; t++)
            {
                if (_queuedOn[t] == hp.Cpu) _queuedOn[t] = Asleep;
            }
        }
    }

    private void OnEnqueued(in EventMeta meta, TaskEnqueued e)
    {
        Grow(e.Task, e.Cpu);
        if (_runningOn[e.Task] != Asleep) Report(in meta, e.Cpu, 0, $"{KernelIds.TaskName(e.Task)} woken on CPU {e.Cpu} while running on CPU {_runningOn[e.Task]}");
        else if (_queuedOn[e.Task] != Asleep) Report(in meta, e.Cpu, 0, $"{KernelIds.TaskName(e.Task)} enqueued on CPU {e.Cpu} while queued on CPU {_queuedOn[e.Task]}");
        _queuedOn[e.Task] = e.Cpu;
    }

    private void OnSwitched(in EventMeta meta, SchedSwitched e)
    {
        Grow(Math.Max(e.Prev, e.Next), e.Cpu);
        if (_curr[e.Cpu] != e.Prev)
        {
            Report(in meta, e.Cpu, 0, $"sched_switch on CPU {e.Cpu} from {KernelIds.TaskName(e.Prev)}, but {KernelIds.TaskName(_curr[e.Cpu])} was running there");
        }
        if (!KernelIds.IsIdle(e.Prev))
        {
            _runningOn[e.Prev] = Asleep;
            if (e.PrevState == PrevState.Runnable) _queuedOn[e.Prev] = e.Cpu;
        }
        if (!KernelIds.IsIdle(e.Next))
        {
            if (_queuedOn[e.Next] != e.Cpu)
            {
                Report(in meta, e.Cpu, 0, $"{KernelIds.TaskName(e.Next)} switched in on CPU {e.Cpu} without being queued there");
            }
            if (_runningOn[e.Next] != Asleep)
            {
                Report(in meta, e.Cpu, 0, $"{KernelIds.TaskName(e.Next)} switched in on CPU {e.Cpu} while running on CPU {_runningOn[e.Next]}");
            }
            _queuedOn[e.Next] = Asleep;
            _runningOn[e.Next] = e.Cpu;
        }
        _curr[e.Cpu] = e.Next;
    }

    private void Grow(int task, int cpu)
    {
        if (task >= _runningOn.Length)
        {
            int n = Math.Max(task + 1, _runningOn.Length * 2);
            int old = _runningOn.Length;
            Array.Resize(ref _runningOn, n);
            Array.Resize(ref _queuedOn, n);
            Array.Fill(_runningOn, Asleep, old, n - old);
            Array.Fill(_queuedOn, Asleep, old, n - old);
        }
        if (cpu >= _curr.Length)
        {
            int old = _curr.Length;
            Array.Resize(ref _curr, Math.Max(cpu + 1, old * 2));
            for (int c = old; c < _curr.Length; c++) _curr[c] = KernelIds.IdleTask(c);
        }
    }
}
