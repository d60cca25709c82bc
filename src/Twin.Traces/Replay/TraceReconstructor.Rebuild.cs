using System.Runtime.CompilerServices;
using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;
using Twin.Persistence.Codec;
using Twin.Traces.Ftrace;

namespace Twin.Traces.Replay;

// One trace line into the model's events, in the order the kernel does things.
public sealed partial class TraceReconstructor
{
    private const string Machine = "machine";
    private const string Ipis = "ipi";
    private readonly Dictionary<int, int> _callCmd = [];
    private string[] _cpuStreams = [];
    private long _line, _timeNs, _seq, _handlers;
    private int _lastRegrouped = int.MinValue;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs per line: optimized from the first call, not after tiering
    private void Rebuild(in TraceRecord r)
    {
        Rebuilt++;
        _line = r.Line;
        _timeNs = r.TimeNs;
        if (r.Kind == TraceEventKind.Lost)
        {
            // A LOST marker, or a line that did not parse: of its CPU, or of any when it named none.
            if (r.Cpu >= 0) Lost(r.Cpu);
            else for (int c = 0; c < _cpus.Length; c++) Lost(c);
            return;
        }
        CpuInfo cpu = Cpu(r.Cpu);
        int task = TaskId(r.Pid, r.Cpu);
        if (task != cpu.Curr) Know(task);
        if (r.Tgid > 0 && r.Pid != _lastRegrouped)
        {
            _lastRegrouped = r.Pid; // lines of one task come in runs: one lookup a run
            Regroup(task, r.Tgid);
        }
        if (r.Stopper && cpu.Stopper != task)
        {
            cpu.Stopper = task;
            Emit(CpuStream(r.Cpu), new StopperSeen(r.Cpu, task));
        }
        // A line prev logs after its own sched_switch (switch_mm's "flush on task switch") is the
        // switch's tail: rq->curr is already next. Any other line ends the tail.
        bool tail = cpu.TailOf == task && cpu.Curr != task;
        // Another task with no sched_switch in the trace: the CPU's lines in between were lost.
        if (!tail && cpu.Seen && task != cpu.Curr) Lost(r.Cpu, UnknownScope.CpuGap);
        if (!tail)
        {
            if (cpu.SwitchPending) FinishSwitch(r.Cpu, cpu, cr3: false);
            cpu.TailOf = int.MinValue;
            cpu.Curr = task;
            cpu.Seen = true;
            if (cpu.User)
            {
                cpu.User = false;
                Emit(CpuStream(r.Cpu), new KernelEntered(r.Cpu, task, r.Context == TraceContext.Hardirq ? EntryReason.Interrupt : EntryReason.Syscall));
            }
        }
        // Said when it tells the monitors something: a new rq->curr, or the context a callback runs in.
        if (cpu.SeenTask != cpu.Curr || r.Kind == TraceEventKind.CsdFunctionEntry)
        {
            cpu.SeenTask = cpu.Curr;
            Emit(CpuStream(r.Cpu), new ContextSeen(r.Cpu, cpu.Curr, (ExecContext)r.Context, r.IrqsOff));
        }
        if (cpu.FlushTask != int.MinValue && EndsFlush(in r, cpu)) FinishFlush(r.Cpu, cpu);
        if (BracketBroken(in r, cpu)) Lost(r.Cpu, UnknownScope.CpuGap);
        SeeBrackets(in r, cpu);
        switch (r.Kind)
        {
            case TraceEventKind.SchedSwitch:
                Switch(in r, cpu);
                break;
            case TraceEventKind.TlbFlush:
                TlbFlush(in r, cpu, task);
                break;
            case TraceEventKind.CsdQueueCpu:
                Queue(in r, cpu);
                break;
            case TraceEventKind.CsdFunctionEntry:
                Run(in r, cpu);
                break;
            case TraceEventKind.IrqVectorEntry or TraceEventKind.IrqVectorExit:
                Vector(in r, cpu, ref _handlers);
                break;
            case TraceEventKind.CsdFunctionExit:
                if (r.Csd != 0 && cpu.RunIpi > 0) Emit(Ipis, new IpiCompleted(cpu.RunIpi));
                cpu.RunIpi = 0;
                break;
            case TraceEventKind.SysEnterMembarrier:
                _callCmd[task] = r.Cmd;
                Emit(CpuStream(r.Cpu), new MembarrierEntered(r.Cpu, task, MmOf(task), r.Cmd, r.Flags, r.CpuId));
                break;
            case TraceEventKind.SysExitMembarrier:
                Exit(in r, cpu, task);
                break;
            case TraceEventKind.SchedProcessFork:
                Fork(TaskId(r.Task, r.Cpu), TaskId(r.Other, r.Cpu));
                break;
            case TraceEventKind.SchedProcessExec:
                if (_execAhead.TryGetValue(r.Pid, out long at) && at == r.Line) _execAhead.Remove(r.Pid);
                Exec(r.Cpu, cpu, TaskId(r.Task, r.Cpu));
                break;
            case TraceEventKind.SchedProcessExit:
                ExitMm(r.Cpu, cpu, TaskId(r.Task, r.Cpu));
                break;
        }
    }

    /// <summary>context_switch(): a kernel thread borrows active_mm (enter_lazy_tlb); a user task's mm is switched to, its CR3 write shown by the tail.</summary>
    private void Switch(in TraceRecord r, CpuInfo cpu)
    {
        int prev = TaskId(r.Task, r.Cpu), next = TaskId(r.Other, r.Cpu);
        Know(prev);
        Know(next);
        // The incoming task's own lines may say its process only later: the lines read ahead may know it now.
        if (_tgidKnown.TryGetValue(r.Other, out int tgid) || _tgidAhead.TryGetValue(r.Other, out tgid)) Regroup(next, tgid);
        if (cpu.SwitchPending) FinishSwitch(r.Cpu, cpu, cr3: false);
        Emit(CpuStream(r.Cpu), new SchedSwitched(r.Cpu, prev, next, r.PrevState == 0 ? PrevState.Runnable : PrevState.Sleeping, KernelIds.NoPrevMm));
        cpu.Curr = next;
        cpu.SeenTask = next; // SchedSwitched says it: no ContextSeen needed for next's first line
        cpu.TailOf = prev;
        cpu.Seen = true;
        cpu.User = false;
        int nextMm = MmOf(next);
        if (nextMm == KernelIds.None)
        {
            if (cpu.ActiveMm > 0 && !cpu.Lazy)
            {
                Emit(CpuStream(r.Cpu), new LazyTlbEntered(r.Cpu, cpu.ActiveMm));
                cpu.Lazy = true;
            }
            return;
        }
        if (nextMm == cpu.ActiveMm && !cpu.Lazy) return; // thread to thread of one mm: switch_mm_irqs_off returns at once
        cpu.SwitchPending = true;
        cpu.PendingPrevMm = cpu.ActiveMm;
        cpu.PendingNextMm = nextMm;
        cpu.PendingWasLazy = cpu.Lazy;
        cpu.PendingGen = _mms[nextMm].TlbGen; // what switch_mm_irqs_off reads now, not when the tail ends
        cpu.ActiveMm = nextMm;
        cpu.Lazy = false;
    }

    private void FinishSwitch(int c, CpuInfo cpu, bool cr3)
    {
        cpu.SwitchPending = false;
        MmInfo mm = _mms[cpu.PendingNextMm];
        if ((mm.Cpumask & Bit(c)) == 0)
        {
            mm.Cpumask |= Bit(c);
            Emit(MmStream(mm.Id), new MmCpumaskSet(mm.Id, c));
        }
        Emit(CpuStream(c), new MmSwitched(c, cpu.PendingPrevMm, mm.Id, cr3, cpu.PendingWasLazy, cpu.PendingGen));
        if (cr3) Emit(CpuStream(c), new CoreSerialized(c, CoreSerializeReason.Cr3Write));
    }

    private void TlbFlush(in TraceRecord r, CpuInfo cpu, int task)
    {
        switch (r.Reason)
        {
            case 0: // switch_mm_irqs_off wrote CR3
                if (cpu.SwitchPending) FinishSwitch(r.Cpu, cpu, cr3: true);
                else Emit(CpuStream(r.Cpu), new CoreSerialized(r.Cpu, CoreSerializeReason.Cr3Write));
                break;
            case 1: // flush_tlb_func in the shootdown IPI
                if (cpu.ActiveMm > 0) Emit(CpuStream(r.Cpu), new TlbFlushed(r.Cpu, cpu.ActiveMm, _mms[cpu.ActiveMm].TlbGen, Full: r.Pages < 0));
                break;
            case 3: // the sender's own flush; without a remote one open, flush_tlb_mm_range's local-only path
                if (cpu.ActiveMm <= 0) break;
                MmInfo mm = _mms[cpu.ActiveMm];
                if (cpu.FlushTask == int.MinValue) Emit(MmStream(mm.Id), new TlbGenIncremented(mm.Id, ++mm.TlbGen, FreedTables: false));
                Emit(CpuStream(r.Cpu), new TlbFlushed(r.Cpu, mm.Id, mm.TlbGen, Full: r.Pages < 0));
                break;
            case 4: // native_flush_tlb_multi(): the sender, before its IPIs; a kernel thread's flush names no mm the trace shows
                if (cpu.FlushTask != int.MinValue) FinishFlush(r.Cpu, cpu);
                int m = MmOf(task);
                long gen = 0;
                if (m > 0)
                {
                    gen = ++_mms[m].TlbGen;
                    Emit(MmStream(m), new TlbGenIncremented(m, gen, FreedTables: false));
                }
                Emit(CpuStream(r.Cpu), new TlbShootdownStarted(r.Cpu, m, gen, FreedTables: false));
                cpu.FlushTask = task;
                cpu.FlushMm = m;
                cpu.FlushGen = gen;
                break;
        }
    }

    /// <summary>
    /// The sender's first line that is not part of its waited flush: flush_tlb_mm_range() waits
    /// with preemption off and emits nothing, so a switch away, or any line in task context but
    /// the IPIs it sends and its own local run, comes after the return. Without flags (trace-cmd,
    /// perf) only lines that cannot come from an interrupt count.
    /// </summary>
    private static bool EndsFlush(in TraceRecord r, CpuInfo cpu)
    {
        if (r.Pid != cpu.FlushTask && !(r.Pid == 0 && cpu.FlushTask == 0)) return true;
        if (r.Kind == TraceEventKind.SchedSwitch) return true;
        // The local run's own lines (a lazy CPU's flush_tlb_func switches to init_mm: "flush on task switch").
        if (cpu.LocalRun)
        {
            if (r.Kind == TraceEventKind.CsdFunctionExit && r.Csd == 0) cpu.LocalRun = false;
            return false;
        }
        if (r.Kind == TraceEventKind.CsdFunctionEntry && r.Csd == 0 && r.Func == CsdFunc.FlushTlbFunc)
        {
            cpu.LocalRun = true;
            return false;
        }
        bool part = r.Kind switch
        {
            TraceEventKind.IpiSendCpu or TraceEventKind.IpiSendCpumask or TraceEventKind.Other => true,
            TraceEventKind.CsdQueueCpu => r.Func == CsdFunc.FlushTlbFunc,
            TraceEventKind.TlbFlush => r.Reason is 2 or 3,
            _ => false,
        };
        if (part) return false;
        if (r.Context == TraceContext.Unknown)
        {
            return r.Kind is TraceEventKind.SysEnterMembarrier or TraceEventKind.SysExitMembarrier or TraceEventKind.OtherSyscall
                or TraceEventKind.SchedProcessFork or TraceEventKind.SchedProcessExec or TraceEventKind.SchedProcessExit
                || (r.Kind == TraceEventKind.TlbFlush && r.Reason == 4);
        }
        return r.Context == TraceContext.Task;
    }

    private void FinishFlush(int c, CpuInfo cpu)
    {
        Emit(CpuStream(c), new TlbShootdownFinished(c, cpu.FlushMm, cpu.FlushGen));
        cpu.FlushTask = int.MinValue;
        cpu.LocalRun = false;
    }

    /// <summary>csd_queue_cpu: the csd is queued for its target (IpiSent), if the model has the handler.</summary>
    private void Queue(in TraceRecord r, CpuInfo cpu)
    {
        if (KindOf(r.Func) is not IpiKind kind) return;
        long id = ++_nextIpi;
        _queued[(r.Csd, r.TargetCpu)] = id;
        _ipiEnds[id] = (r.Cpu, r.TargetCpu);
        int mm = kind == IpiKind.FlushTlb ? cpu.FlushMm : MmOf(cpu.Curr);
        long gen = kind == IpiKind.FlushTlb ? cpu.FlushGen : 0;
        Emit(Ipis, new IpiSent(id, r.Cpu, r.TargetCpu, kind, mm, gen));
    }

    /// <summary>
    /// csd_function_entry: the handler runs (IpiHandled). A csd run with no queueing line since its
    /// last run gets id -1, its origin unknown: the queueing may be before the trace, in a lost
    /// window, or one of the lines this machine loses without a LOST marker. Only a second run
    /// inside the same call-function interrupt keeps the id of the first: one flush of the queue
    /// (__flush_smp_call_function_queue(), after llist_del_all()) runs each queued csd once.
    /// </summary>
    private void Run(in TraceRecord r, CpuInfo cpu)
    {
        if (KindOf(r.Func) is not IpiKind kind) return;
        cpu.RunIpi = 0;
        if (r.Csd == 0)
        {
            Emit(CpuStream(r.Cpu), new IpiHandled(r.Cpu, 0, kind, r.Cpu));
            return;
        }
        long id;
        int from = -1;
        if (_queued.Remove((r.Csd, r.Cpu), out id))
        {
            from = _ipiEnds[id].From;
            _ipiEnds.Remove(id);
        }
        else
        {
            bool sameFlush = _ranAt.TryGetValue(r.Csd, out (long Line, long Ipi, long Handler) ran) && cpu.InHandler && ran.Handler == cpu.Handler && ran.Line > _lastLossLine;
            id = sameFlush ? ran.Ipi : -1;
        }
        _ranAt[r.Csd] = (r.Line, id, cpu.InHandler ? cpu.Handler : -1);
        cpu.RunIpi = id;
        Emit(CpuStream(r.Cpu), new IpiHandled(r.Cpu, id, kind, from));
    }

    /// <summary>
    /// Lines of a call-function interrupt that contradict each other, so one was lost: a queued csd's
    /// function run in hardirq outside the interrupt's entry and exit lines (sysvec_call_function*()
    /// logs its entry before __flush_smp_call_function_queue() runs anything), an exit with no entry,
    /// an entry inside another, a function entered while the one before has not exited. Only once
    /// the CPU has shown those lines at all: a trace may lack the irq_vectors or csd_function_exit
    /// events, or begin while they were being enabled one by one (enabling a tracepoint patches
    /// kernel text, whose do_sync_core IPIs are then traced without their interrupt's lines).
    /// </summary>
    private static bool BracketBroken(in TraceRecord r, CpuInfo cpu) => r.Kind switch
    {
        TraceEventKind.CsdFunctionEntry => r.Csd != 0 && ((r.Context == TraceContext.Hardirq && !cpu.InHandler && cpu.VectorExitSeen) || (cpu.RunIpi != 0 && cpu.CsdExitSeen)),
        TraceEventKind.IrqVectorEntry => r.Vector is 251 or 252 && cpu.InHandler && cpu.VectorExitSeen,
        TraceEventKind.IrqVectorExit => r.Vector is 251 or 252 && !cpu.InHandler && cpu.VectorExitSeen,
        _ => false,
    };

    /// <summary>Which bracketing lines the CPU's trace has (the events are enabled, the CPU's buffer holds them).</summary>
    private static void SeeBrackets(in TraceRecord r, CpuInfo cpu)
    {
        if (r.Kind == TraceEventKind.IrqVectorExit && r.Vector is 251 or 252) cpu.VectorExitSeen = true;
        else if (r.Kind == TraceEventKind.CsdFunctionExit && r.Csd != 0) cpu.CsdExitSeen = true;
    }

    /// <summary>call_function(_single)_entry/_exit: the interrupt that flushes the CPU's csd queue.</summary>
    private static void Vector(in TraceRecord r, CpuInfo cpu, ref long handlers)
    {
        if (r.Vector is not (251 or 252)) return;
        cpu.InHandler = r.Kind == TraceEventKind.IrqVectorEntry;
        if (cpu.InHandler) cpu.Handler = ++handlers;
    }

    private void Exit(in TraceRecord r, CpuInfo cpu, int task)
    {
        Emit(CpuStream(r.Cpu), new MembarrierExited(r.Cpu, task, r.Ret));
        if (_callCmd.Remove(task, out int cmd) && r.Ret == 0 && MmOf(task) is int m and > 0 && TraceChecker.Registered(cmd) is int bits and not 0)
        {
            MmInfo mm = _mms[m];
            mm.State |= bits;
            Emit(MmStream(m), new MembarrierStateChanged(m, mm.State));
        }
        // Back to user mode; x86-64 syscalls return by SYSRET unless the kernel must IRET, which the trace does not say.
        Emit(CpuStream(r.Cpu), new ReturnedToUser(r.Cpu, task, ReturnPath.Sysret));
        cpu.User = true;
    }

    private void Fork(int parent, int child)
    {
        if (_tasks.ContainsKey(child)) return;
        Know(parent);
        if (!_tasks.TryGetValue(parent, out TaskInfo? p)) return; // the idle task forks nothing the model follows
        int tgid = TgidOf(child);
        var t = new TaskInfo(child) { Tgid = tgid, Kthread = _kthreads.Contains(child) || p.Kthread || parent == 2 };
        if (t.Kthread)
        {
            t.Mm = KernelIds.None;
        }
        else if (tgid == p.Tgid)
        {
            t.Mm = p.Mm; // a thread: CLONE_VM
        }
        else
        {
            // A new process: dup_mm() copies the parent's mm, membarrier_state included.
            MmInfo mm = NewMm(tgid, p.Mm > 0 ? _mms[p.Mm].State : 0, known: p.Mm > 0 && _mms[p.Mm].Known);
            t.Mm = mm.Id;
        }
        _tasks[child] = t;
        Emit(Machine, new TaskCreated(child, tgid, t.Mm, t.Kthread));
    }

    /// <summary>exec_mmap(): a fresh mm with membarrier_state 0 (membarrier_exec_mmap), loaded at once by activate_mm().</summary>
    private void Exec(int c, CpuInfo cpu, int task)
    {
        Know(task);
        if (!_tasks.TryGetValue(task, out TaskInfo? t)) return;
        int old = t.Mm;
        MmInfo mm = NewMm(t.Tgid, 0, known: true);
        t.Mm = mm.Id;
        t.Kthread = false;
        Emit(Machine, new TaskMmChanged(task, mm.Id, MmChangeReason.Exec));
        if (cpu.Curr != task) return;
        mm.Cpumask |= Bit(c);
        Emit(MmStream(mm.Id), new MmCpumaskSet(mm.Id, c));
        Emit(CpuStream(c), new MmSwitched(c, old, mm.Id, Cr3Written: true, WasLazy: false, mm.TlbGen));
        cpu.ActiveMm = mm.Id;
        cpu.Lazy = false;
    }

    /// <summary>exit_mm(): current->mm = NULL and enter_lazy_tlb(mm): the exiting task keeps the mm only as active_mm.</summary>
    private void ExitMm(int c, CpuInfo cpu, int task)
    {
        if (!_tasks.TryGetValue(task, out TaskInfo? t) || t.Mm == KernelIds.None) return;
        t.Mm = KernelIds.None;
        Emit(Machine, new TaskMmChanged(task, KernelIds.None, MmChangeReason.ExitMm));
        if (cpu.Curr == task && cpu.ActiveMm > 0 && !cpu.Lazy)
        {
            Emit(CpuStream(c), new LazyTlbEntered(c, cpu.ActiveMm));
            cpu.Lazy = true;
        }
    }

    /// <summary>CPU:n [LOST m EVENTS]: whatever CPU n did just before is unknown; its state is learnt again from its next lines.</summary>
    private void Lost(int c, UnknownScope scope = UnknownScope.Cpu)
    {
        CpuInfo cpu = Cpu(c);
        Emit(CpuStream(c), new StateUnknown(scope, c));
        cpu.SwitchPending = false;
        cpu.TailOf = int.MinValue;
        cpu.FlushTask = int.MinValue;
        cpu.RunIpi = 0;
        cpu.User = false;
        cpu.SeenTask = int.MinValue;
        cpu.Seen = false; // rq->curr is unknown until the CPU's next line
        cpu.InHandler = false;
        _lastLossLine = _line;
    }

    private static IpiKind? KindOf(CsdFunc f) => f switch
    {
        CsdFunc.IpiMb => IpiKind.Mb,
        CsdFunc.IpiSyncCore => IpiKind.SyncCore,
        CsdFunc.IpiRseq => IpiKind.Rseq,
        CsdFunc.IpiSyncRqState => IpiKind.SyncRqState,
        CsdFunc.FlushTlbFunc => IpiKind.FlushTlb,
        CsdFunc.EnableLamFunc => IpiKind.EnableLam,
        CsdFunc.DoSyncCore => IpiKind.TextPokeSync,
        _ => null,
    };

    /// <summary>The model's id of a trace pid: the pid, but swapper/N for pid 0.</summary>
    private static int TaskId(int pid, int cpu) => pid == 0 ? KernelIds.IdleTask(cpu) : pid;

    /// <summary>A task's tgid: from the .tasks file, or the TGID column of any line read so far (up to <see cref="LookAhead"/> ahead); else its pid.</summary>
    public int TgidOf(int pid) => _tgidKnown.TryGetValue(pid, out int t) || _tgidAhead.TryGetValue(pid, out t) ? t : pid;

    private int MmOf(int task) => KernelIds.IsIdle(task) || !_tasks.TryGetValue(task, out TaskInfo? t) ? KernelIds.None : t.Mm;

    /// <summary>
    /// A task's own TGID column says another process than it was taken for: a thread forked, then
    /// first running more than the look-ahead later (a throttled cgroup), was taken for a process of
    /// its own; or its pid was reused. It joins its process's mm from here on.
    /// </summary>
    private void Regroup(int task, int tgid)
    {
        if (!_tasks.TryGetValue(task, out TaskInfo? t) || t.Kthread || t.Tgid == tgid) return;
        int old = t.Mm;
        t.Tgid = tgid;
        if (!_mmOfTgid.TryGetValue(tgid, out int mm)) mm = NewMm(tgid, 0, known: false).Id;
        t.Mm = mm;
        Emit(Machine, new TaskCreated(task, tgid, mm, Kthread: false));
        foreach (CpuInfo c in _cpus)
        {
            if (c.Curr == task && c.ActiveMm == old) c.ActiveMm = mm;
        }
    }

    /// <summary>The first time a task is named: a kernel thread (the .tasks file, pid 2), or a thread of its tgid's process, whose mm then predates the trace.</summary>
    private void Know(int task)
    {
        if (KernelIds.IsIdle(task) || _tasks.ContainsKey(task)) return;
        int tgid = TgidOf(task);
        var t = new TaskInfo(task) { Tgid = tgid, Kthread = _kthreads.Contains(task) || task == 2 };
        if (!t.Kthread)
        {
            if (!_mmOfTgid.TryGetValue(tgid, out int mm)) mm = NewMm(tgid, 0, known: false).Id;
            t.Mm = mm;
        }
        _tasks[task] = t;
        Emit(Machine, new TaskCreated(task, tgid, t.Mm, t.Kthread));
    }

    private MmInfo NewMm(int tgid, int state, bool known)
    {
        var mm = new MmInfo(_mms.Count) { Tgid = tgid, State = state, Known = known };
        _mms.Add(mm);
        _mmOfTgid[tgid] = mm.Id;
        Emit(MmStream(mm.Id), new MmCreated(mm.Id, tgid, state));
        if (!known) Emit(MmStream(mm.Id), new StateUnknown(UnknownScope.Mm, mm.Id));
        return mm;
    }

    private CpuInfo Cpu(int c)
    {
        if (c >= _cpus.Length)
        {
            int old = _cpus.Length;
            Array.Resize(ref _cpus, c + 1);
            Array.Resize(ref _cpuStreams, c + 1);
            for (int i = old; i <= c; i++)
            {
                _cpus[i] = new CpuInfo { Curr = KernelIds.IdleTask(i) };
                _cpuStreams[i] = $"cpu-{i}";
            }
        }
        return _cpus[c];
    }

    private string CpuStream(int c) => _cpuStreams[c];

    private static string MmStream(int mm) => mm < s_mmStreams.Length ? s_mmStreams[mm] : $"mm-{mm}";

    private static readonly string[] s_mmStreams = [.. Enumerable.Range(0, 256).Select(i => $"mm-{i}")];

    private static ulong Bit(int cpu) => cpu < 64 ? 1UL << cpu : 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Emit<TEvent>(string stream, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        var meta = new EventMeta(stream, ++_seq, _timeNs, _line);
        foreach (EventTap tap in _taps) tap.OnEvent(in meta, in evt);
    }
}
