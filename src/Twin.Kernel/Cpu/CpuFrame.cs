using System.Runtime.CompilerServices;
using Twin.Actors;
using Twin.Kernel.Cpu.Paths;

namespace Twin.Kernel.Cpu;

/// <summary>What a frame of a CPU's stack runs.</summary>
internal enum FrameKind : byte
{
    /// <summary>The current task: its user code, its syscalls, __schedule, a kernel thread's work (the task's own stack).</summary>
    Task,
    /// <summary>A hardirq handler (an IPI's cross-call), above the code it interrupted.</summary>
    Irq,
    /// <summary>A non-maskable interrupt's handler (and an INT3 it traps on).</summary>
    Nmi,
    /// <summary>The INT3 exception of a patch site (text_poke_bp).</summary>
    Int3,
}

/// <summary>What the kernel path parked on a frame waits for.</summary>
internal enum FrameWait : byte
{
    /// <summary>Nothing: the frame's code runs (or has nothing parked).</summary>
    None,
    /// <summary>The task frame runs the idle task: nothing is armed; a wakeup schedules.</summary>
    Idle,
    /// <summary>A delay of virtual time (a kernel step, kernel work, a poll): the frame's own step message.</summary>
    Step,
    /// <summary>A poll of synchronize_rcu(): a step that other CPUs' grace periods count as quiescent.</summary>
    RcuPoll,
    /// <summary>The task runs in user mode until its step's message, unless an interrupt takes it into the kernel first.</summary>
    User,
    /// <summary>The owner's answer to a store (<see cref="Done"/> with the frame's token): nothing else runs on the CPU meanwhile.</summary>
    Store,
    /// <summary>The handlers of the IPIs the path sent with wait=1 (csd_lock_wait()).</summary>
    Acks,
}

/// <summary>
/// One frame of a CPU's stack: the task at the bottom; a hardirq handler, an NMI or an INT3
/// exception above it while one runs. A frame holds at most one kernel path parked on a wait and
/// the token of that wait: the driver resumes the path when the message carrying the token comes
/// (a stale one is ignored). Driver state, not journaled: re-execution reproduces it.
/// </summary>
internal class CpuFrame(FrameKind kind, PathPool? pool = null)
{
    private Action? _parked;

    /// <summary>The pool the frames of the paths that wait here come from (their CPU's; a frame alone gets its own).</summary>
    public PathPool Pool { get; } = pool ?? new PathPool();

    public FrameKind Kind { get; protected set; } = kind;

    /// <summary>On the CPU's stack (the task frame always is).</summary>
    public bool OnStack { get; set; }

    /// <summary>The token of the frame's latest wait: a step message or a store's answer with another is stale.</summary>
    public long Token { get; private set; }

    public FrameWait Wait { get; private set; }

    /// <summary>The answer of the store the path waited for (a new generation, a trylock's outcome, an id).</summary>
    public long Reply { get; private set; }

    /// <summary>The user-mode wait ended by an interrupt instead of its step.</summary>
    public bool Interrupted { get; private set; }

    /// <summary>The pending store writes this CPU's rq->membarrier_state (or rq->curr): its store buffer notes it when answered.</summary>
    public bool StoresRqState { get; private set; }

    public bool Parked => _parked is not null;

    /// <summary>A fresh token: whatever the frame waited for before is stale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long NextToken() => ++Token;

    /// <summary>The path is about to wait for <paramref name="wait"/> (armed with the current token).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Arm(FrameWait wait, bool storesRqState = false)
    {
        Invariant.Assert(_parked is null, "one kernel path waits on a frame at a time");
        Wait = wait;
        StoresRqState = storesRqState;
    }

    /// <summary>The task frame runs the idle task: nothing armed, any pending step stale.</summary>
    public void Idle()
    {
        Invariant.Assert(_parked is null, "the idle task runs no kernel path");
        NextToken();
        Wait = FrameWait.Idle;
    }

    /// <summary>Parks the awaiting path (its continuation) until the frame's wait ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Park(Action continuation)
    {
        Invariant.Assert(_parked is null && Wait > FrameWait.Idle, "a path parks on an armed wait");
        _parked = continuation;
    }

    /// <summary>The wait ended (with the store's answer <paramref name="reply"/>): the parked path goes on, now.</summary>
    public void Resume(long reply = 0, bool interrupted = false)
    {
        Action? parked = _parked;
        Invariant.Assert(parked is not null, "a wait ends for a parked path");
        _parked = null;
        Wait = FrameWait.None;
        Reply = reply;
        Interrupted = interrupted;
        parked();
    }

    /// <summary>Arms the step of the wait again (new token), the parked path unchanged: its message came while a frame above held it.</summary>
    public void Rearm() => NextToken();

    /// <summary>Awaits the frame's armed wait (a step, a poll, a store, acks), or nothing when <paramref name="done"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FrameAwaiter Awaiter(bool done = false) => new(this, done);
}

/// <summary>The awaitable of a frame's wait: <c>await</c> parks the path on its frame; the result is the store's answer (0 for other waits).</summary>
internal readonly struct FrameAwaiter(CpuFrame frame, bool done) : IPathAwaiter
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FrameAwaiter GetAwaiter() => this;

    public bool IsCompleted
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => done;
    }

    public PathPool Pool
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => frame.Pool;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long GetResult() => done ? 0 : frame.Reply;

    public void OnCompleted(Action continuation) => frame.Park(continuation);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void UnsafeOnCompleted(Action continuation) => frame.Park(continuation);
}

/// <summary>The awaitable of a user-mode wait: true when the task's step ran to its end, false when an interrupt took it into the kernel.</summary>
internal readonly struct UserModeAwaiter(CpuFrame frame) : IPathAwaiter
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public UserModeAwaiter GetAwaiter() => this;

    public bool IsCompleted
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => false;
    }

    public PathPool Pool
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => frame.Pool;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool GetResult() => !frame.Interrupted;

    public void OnCompleted(Action continuation) => frame.Park(continuation);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void UnsafeOnCompleted(Action continuation) => frame.Park(continuation);
}

/// <summary>
/// The frame of an NMI or INT3 handler. While it is on the CPU, the CPU's own flow is held: the
/// task's due step, the tick, a wakeup and the end of an IPI wait are noted here, IPIs queued,
/// and all are delivered after the handler's IRET (an NMI arriving meanwhile is dropped).
/// </summary>
internal sealed class ExceptionFrame(PathPool pool) : CpuFrame(FrameKind.Int3, pool)
{
    /// <summary>The task's step came due (armed again, a kernel step later, at the IRET).</summary>
    public bool StepDue { get; set; }

    public bool TickDue { get; set; }

    /// <summary>The last IPI the task waits for was acknowledged: its wait ends at the IRET.</summary>
    public bool AcksDone { get; set; }

    public bool Woken { get; set; }

    /// <summary>B22: the handler polls for the patch to finish, taking IPIs as it polls (outside an NMI).</summary>
    public bool Spinning { get; set; }

    /// <summary>Interrupts (csd slots, or the spurious slot) that wait for the IRET.</summary>
    public Queue<int> HeldIrqs { get; } = new();

    public bool IsNmi => Kind == FrameKind.Nmi;

    public void Enter(bool nmi)
    {
        Kind = nmi ? FrameKind.Nmi : FrameKind.Int3;
        StepDue = TickDue = AcksDone = Woken = Spinning = false;
    }
}
