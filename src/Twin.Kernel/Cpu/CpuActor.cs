using System.Runtime.CompilerServices;
using Akka.Actor;
using Twin.Actors;
using Twin.Kernel.Arch;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Events;
using Twin.Kernel.Ipi;
using Twin.Kernel.Machine;
using Twin.Kernel.Mm;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;
using Twin.Kernel.Text;

namespace Twin.Kernel.Cpu;

/// <summary>
/// One CPU (stream "cpu-N"), an Akka persistent actor. It runs the task its runqueue says is
/// current: user steps, syscalls (membarrier, mprotect, munmap, fork, exec, exit, sleep, yield,
/// arch_prctl, clone) and, for kernel threads, kernel work and kthread_use/unuse_mm.
///
/// Kernel code is written as kernel paths (<c>Paths/</c>): one <c>async</c> method per kernel
/// function, in the kernel's order and with its names, that awaits where another CPU can
/// interleave: a kernel step of virtual time, a store it waits for, the IPIs it sent. The CPU
/// keeps a stack of frames (<see cref="CpuFrame"/>): the task at the bottom; a hardirq handler, an
/// NMI or an INT3 exception above it while one runs. Each frame holds the path parked on it and
/// the token of what it waits for; this file and <c>CpuActor.Frames.cs</c> are the driver that
/// resumes them when the awaited message comes.
///
/// A store to memory another actor owns (the runqueue, an mm, the task table, the kernel text)
/// is a message to its owner, and the CPU waits until the owner answers: it takes nothing else,
/// not even an interrupt, in between. So a CPU's program order is kept, and other CPUs may
/// interleave at each store, as on the hardware. A load of another actor's state reads it at an
/// instant through a read-only view (<see cref="MmView"/>, <see cref="CpuView"/>, ...). Driver
/// state (the frames, the parked paths, the pending-IPI queue) is not journaled: re-execution
/// reproduces it.
/// </summary>
public sealed partial class CpuActor : KernelActor
{
    private readonly ArchProfile _arch;

    /// <summary>The frames of this CPU's kernel paths that wait, kept for reuse.</summary>
    private readonly PathPool _paths = new();

    /// <summary>The task's frame, at the bottom of the stack: user code, syscalls, __schedule, kthread work.</summary>
    private readonly CpuFrame _task;

    /// <summary>A hardirq handler's frame (ipi_sync_rq_state waits for its store in it).</summary>
    private readonly CpuFrame _irq;

    /// <summary>An NMI's or INT3's frame, and what it holds back until its IRET.</summary>
    private readonly ExceptionFrame _exception;

    private readonly CpuFrame[] _stack = new CpuFrame[3];
    private int _depth;

    /// <summary>Local interrupts are off: IPIs wait in <see cref="_pendingIpis"/>.</summary>
    private bool _irqsOff;

    /// <summary>TIF_NEED_RESCHED: the tick asked for a reschedule, acted on at the next scheduling point.</summary>
    private bool _needResched;

    /// <summary>When the user (or kthread) work in progress ends: an interrupt leaves the rest for later.</summary>
    private long _workUntilNs;

    /// <summary>The running task's slice (its tick carries it; a tick of an older slice is stale).</summary>
    private long _slice;

    public CpuActor(KernelModel kernel, int cpu) : base(kernel, StreamOf(cpu))
    {
        _arch = kernel.Config.Arch;
        _task = new CpuFrame(FrameKind.Task, _paths);
        _irq = new CpuFrame(FrameKind.Irq, _paths);
        _exception = new ExceptionFrame(_paths);
        if (kernel.Config.CurrStoreBufferNs > 0)
        {
            _currMmSeen = new BufferedWord();
            _rqStateSeen = new BufferedWord();
        }
        Id = cpu;
        State = new CpuState(cpu);
        Push(_task);
        _task.Idle();
        kernel.Register(this);
        ApplyWith<CpuBooted>(State.Apply);
        ApplyWith<LazyTlbEntered>(State.Apply);
        ApplyWith<MmSwitchBegan>(State.Apply);
        ApplyWith<MmSwitched>(State.Apply);
        ApplyWith<TlbFlushed>(State.Apply);
        ApplyWith<KernelEntered>(State.Apply);
        ApplyWith<ReturnedToUser>(State.Apply);
        ApplyWith<FullBarrier>(State.Apply);
        ApplyWith<CpuLamLoaded>(State.Apply);
        ApplyWith<CtWork>(State.Apply);
        ApplyWith<CpuHotplugged>(State.Apply);
        ApplyWith<ArchPrctlReturned>(static _ => { });
        ApplyWith<UntaggedAddr>(static _ => { });
        ApplyWith<TextFetched>(static _ => { });
        ApplyWith<Int3Handled>(static _ => { });
        ApplyWith<CoreSerialized>(static _ => { });
        ApplyWith<IpiHandled>(static _ => { });
        ApplyWith<CodeWritten>(static _ => { });
        ApplyWith<UserStored>(static _ => { });
        ApplyWith<UserLoaded>(static _ => { });
        ApplyWith<FaultInjected>(static _ => { });
        ApplyWith<RseqAborted>(static _ => { });
        ApplyWith<RseqCsEntered>(static _ => { });
        ApplyWith<RseqCsCommitted>(static _ => { });
        ApplyWith<TlbShootdownStarted>(static _ => { });
        ApplyWith<TlbShootdownFinished>(static _ => { });
        ApplyWith<MembarrierEntered>(static _ => { });
        ApplyWith<MembarrierSampled>(static _ => { });
        ApplyWith<MembarrierExited>(static _ => { });
        ApplyWith<KthreadWorkBegan>(static _ => { });
        ApplyWith<KthreadWorkEnded>(static _ => { });
    }

    public int Id { get; }

    public CpuState State { get; }

    /// <summary>What the CPU executes: user code, kernel code, or its idle task.</summary>
    public CpuMode Mode => State.InUser ? CpuMode.User : Rq.CurrIsIdle ? CpuMode.Idle : CpuMode.Kernel;

    /// <summary>Context switches so far: RCU's quiescent states (with user mode and idle), read by synchronize_rcu() on other CPUs.</summary>
    public long QuiescentStates { get; private set; }

    /// <summary>True while the CPU waits in synchronize_rcu(): it would sleep there, so RCU counts it quiescent.</summary>
    public bool InRcuWait => _task.Wait == FrameWait.RcuPoll;

    public static string StreamOf(int cpu) => $"cpu-{cpu}";

    public override void HashState(ref StateHasher hasher) => State.Hash(ref hasher);

    protected override void Start() => Raise(new CpuBooted(Id));

    protected override void OnCommand(object message)
    {
        if (StoreInFlight)
        {
            if (message is Done done && TryResume(done)) return;
            // Nothing else happens on a CPU waiting for a store: the message waits its turn.
            Stash.Stash();
            return;
        }
        switch (message)
        {
            case Continue c:
                OnContinue(c);
                break;
            case SchedTick t:
                OnTick(t);
                break;
            case RqWoken:
                OnRqWoken();
                break;
            case IpiArrived a:
                OnIpiArrived(a);
                break;
            case SpuriousIrq irq:
                OnSpuriousIrq(irq);
                break;
            case IpiAcked ack:
                OnIpiAcked(ack);
                break;
            case NmiArrived nmi:
                OnNmi(nmi);
                break;
            case ExceptionStep step:
                OnExceptionStep(step);
                break;
            case CpuHotplug h:
                OnHotplug(h);
                break;
            case CtWorkRequest ct:
                OnCtWorkRequest(ct);
                break;
            case CtWorkAnswer answer:
                OnCtWorkAnswer(answer);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    // Loads: the state of other actors, read at this instant through read-only views.

    /// <summary>This CPU's runqueue (written only by message).</summary>
    private RqView Rq => new(Kernel.Rqs[Id].State);

    private IActorRef RqRef => Kernel.RqRefs[Id];

    /// <summary><c>rq->curr</c>.</summary>
    private int Curr
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Kernel.Rqs[Id].State.Curr;
    }

    /// <summary>The running task's program (driver state).</summary>
    private TaskRuntime Current => Kernel.Runtime(Curr);

    /// <summary><c>current->mm</c>.</summary>
    private int CurrentMm => Machine.Task(Curr).Mm;

    private MmView Mm(int mm) => new(Kernel.Mm(mm).State);

    private IActorRef MmRef(int mm) => Kernel.MmRef(mm);

    private CpuView Cpu(int cpu) => new(Kernel.Cpus[cpu]);

    private MachineView Machine => new(Kernel.Machine);

    private TextView Text => new(Kernel.Text!);

    /// <summary>The cross-call queued on csd <paramref name="slot"/> (its function and data, read as its target runs it).</summary>
    private IpiSent CsdCall(int slot) => Kernel.Csd(slot).Current!.Value;

    private int Cpus => Kernel.Config.Cpus;

    /// <summary>The current task runs in user mode, in the kernel, or the CPU idles; a tick of an idle CPU does nothing.</summary>
    private bool RunsIdle => Mode == CpuMode.Idle || _task.Wait == FrameWait.Idle;
}
